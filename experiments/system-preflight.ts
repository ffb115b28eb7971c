import { describeRedisSource, type RedisSource, resolveRedis } from '../cluster/local/redis-provision.js';
import type { RunConfig } from './config.js';
import { variantDefinition, variantsFor } from './config.js';
import type { ExperimentDefinition } from './definitions.js';
import { variantSpecFor } from './variant-spec.js';

/** What the run needs from the machine, found before anything starts. */
export interface SystemNeeds {
  /** Where the local cluster gets Redis; undefined when no selected variant needs it (or not local). */
  redis?: RedisSource;
}

/** A missing or wrong system program: a usage/input error (exit 2), found before anything started. */
export class SystemPreflightError extends Error {}

/** Whether any experiment × case × variant the run will bring up needs Redis. */
function runNeedsRedis(config: RunConfig, experiments: ExperimentDefinition[]): boolean {
  return experiments.some((def) =>
    def.cases.some((c) =>
      variantsFor(def, config).some(
        (v) => variantSpecFor(def, c, v, { l7: config.l7, definition: variantDefinition(config, v) }).redis,
      ),
    ),
  );
}

/**
 * Finds the Redis a local run whose variants use it needs (redis-provision.ts's chain, which may install
 * Debian's redis-server and says so), after the preflight's checks passed (experiments/preflight.ts,
 * where k6 is checked too). Throws SystemPreflightError naming every way to provide Redis.
 */
export async function checkSystemNeeds(
  config: RunConfig,
  experiments: ExperimentDefinition[],
  log: (line: string) => void,
): Promise<SystemNeeds> {
  const needs: SystemNeeds = {};
  try {
    if (config.cluster === 'local' && runNeedsRedis(config, experiments)) {
      needs.redis = await resolveRedis({
        ...(config.redisUrl ? { url: config.redisUrl, urlFrom: '--redis-url / redisUrl' } : {}),
      });
      log(`mcpbench run: ${describeRedisSource(needs.redis)}`);
    }
  } catch (err) {
    throw new SystemPreflightError((err as Error).message);
  }
  return needs;
}
