import os from 'node:os';

/** One benchmark's result: a titled table plus what was measured and against what. */
export interface BenchSection {
  title: string;
  /** What was measured and how, in a sentence or two. */
  method: string;
  headers: string[];
  rows: Array<Array<string | number>>;
  /** Conclusions, e.g. the ratio to the baseline and where it stands against the target. */
  notes?: string[];
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderSection(section: BenchSection): string {
  return [
    `## ${section.title}`,
    '',
    section.method,
    '',
    markdownTable(section.headers, section.rows),
    '',
    ...(section.notes ?? []).map((n) => `- ${n}`),
  ].join('\n');
}

/** Formats a ratio the way the targets in the issues are written: 1.85x. */
export function ratio(value: number, baseline: number): string {
  return baseline > 0 ? `${(value / baseline).toFixed(2)}x` : 'n/a';
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
