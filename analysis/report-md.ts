import { buildReport } from './report/build.js';
import type { Block, RichText, Table } from './report/model.js';
import type { RunSummary } from './summary-types.js';

/** report.md: the report model (analysis/report/model.ts) as Markdown, sized for a PR comment or a CI job summary. */

const inline = (text: RichText) => text.map((t) => (typeof t === 'string' ? t : `**${t.strong}**`)).join('');

function tableLines(t: Table): string[] {
  return [
    `| ${t.headings.map((h) => h.text).join(' | ')} |`,
    `|${t.headings.map((h) => (h.align === 'right' ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map((c) => inline(c.text)).join(' | ')} |`),
  ];
}

function blockLines(b: Block): string[] {
  if (b.kind === 'table') return tableLines(b.table);
  if (b.kind === 'list') return b.items.map((i) => `- ${inline(i)}`);
  return [`> ${inline(b.text)}`];
}

export function renderMarkdown(summary: RunSummary): string {
  const report = buildReport(summary);
  const out: string[] = [];
  out.push(`# ${report.title}`, '');
  out.push(
    `Cluster: ${report.meta.cluster} (${report.meta.kubernetesVersion ?? 'n/a'}) · status: ${report.meta.status}`,
    '',
    `Deployment: ${report.meta.deployment}`,
    '',
    `Per-pod CPU limits: ${report.meta.cpuLimits}`,
    '',
  );
  for (const s of report.sections) {
    out.push(`## ${s.title}`, '');
    for (const [i, b] of s.blocks.entries()) {
      if (i > 0) out.push('');
      out.push(...blockLines(b));
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
