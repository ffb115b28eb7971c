#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('mcpbench: dist/ is missing; run `npm run build` (npm ci does it for you).');
  process.exit(2);
}
await import(entry.href);
