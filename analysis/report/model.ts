/**
 * What a report says, independent of how it is drawn: sections of headings, lists, notes and tables
 * whose cells carry their value, interval and mark. report-md.ts and report-html.ts render the same
 * model; neither parses the other's output.
 */

/** Text with emphasised runs, e.g. [strong('ttl-cache'), ': an rc turn takes …']. */
export type RichText = Array<string | { strong: string }>;

export const strong = (text: string) => ({ strong: text });

/** How a cell's figure reads for the migration question: rc better, the legacy variant better, or noise. */
type Mark = 'rc-better' | 'legacy-better' | 'noise';

export interface Cell {
  text: RichText;
  /** the figure behind the text, in its metric's unit, when there is one */
  value?: number | null;
  /** its 95% interval, when there is one */
  interval?: { low: number | null; high: number | null } | null;
  mark?: Mark | null;
}

export interface Table {
  headings: Array<{ text: string; align: 'left' | 'right' }>;
  rows: Cell[][];
}

export type Block =
  | { kind: 'table'; table: Table }
  | { kind: 'list'; items: RichText[] }
  | { kind: 'note'; text: RichText };

export interface Section {
  title: string;
  /** set on an experiment's own section: the HTML report draws its charts there */
  experimentId?: string;
  blocks: Block[];
}

export interface ReportModel {
  title: string;
  meta: {
    cluster: string;
    kubernetesVersion: string | null;
    status: string;
    generatedAt: string;
    /** which manifests the run deployed (run config `deployment`), in words */
    deployment: string;
    /** whether per-pod CPU limits were enforced (the trials' cpu-limits events), in words */
    cpuLimits: string;
  };
  sections: Section[];
}

/** A plain cell: text only. */
export const cell = (text: string | RichText, value?: number | null): Cell => ({
  text: typeof text === 'string' ? [text] : text,
  ...(value !== undefined ? { value } : {}),
});

/** A table from headings ("variant", "p50:" right-aligned when written with a trailing colon). */
export function table(headings: string[], rows: Cell[][]): Table {
  return {
    headings: headings.map((h) =>
      h.endsWith(':') ? { text: h.slice(0, -1), align: 'right' } : { text: h, align: 'left' },
    ),
    rows,
  };
}
