/**
 * Shared pieces of the fault suite: the figures table each file prints (copied into
 * RELIABILITY.md), a clean environment for child processes and bounded polling.
 */
import os from 'node:os';

export interface Figure {
  scenario: string;
  measure: string;
  value: string | number;
}

/** Collects a file's figures and prints them as one Markdown table when the file is done. */
export class Figures {
  private readonly rows: Figure[] = [];

  constructor(private readonly group: string) {}

  add(scenario: string, measure: string, value: string | number): void {
    this.rows.push({ scenario, measure, value });
  }

  print(): void {
    const lines = [
      '',
      `RELIABILITY figures: ${this.group} (${new Date().toISOString()}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg()[0].toFixed(1)})`,
      '| scenario | measure | value |',
      '|---|---|---|',
      ...this.rows.map((r) => `| ${r.scenario} | ${r.measure} | ${r.value} |`),
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
}

/** The test runner's own NR_HA_* settings never leak into a child process. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NR_HA_') || key.startsWith('NR_HA_TEST_')));
  return { ...env, ...extra };
}

/** Retries `check` until it passes or `withinMs` has gone by (then its last failure is thrown). */
export async function eventually<T>(check: () => Promise<T>, withinMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

/** Seconds with one decimal, for the figures. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
