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


/** Seconds with one decimal, for the figures. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** POST /seed stores its body as the shared context value "keep"; GET /keep reads it back. */
export const KEEP_FLOW = [
  { id: 'keep-tab', type: 'tab', label: 'stored state' },
  { id: 'keep-res', z: 'keep-tab', type: 'http response', wires: [] },
  { id: 'keep-get', z: 'keep-tab', type: 'http in', url: '/keep', method: 'get', wires: [['keep-read']] },
  { id: 'keep-read', z: 'keep-tab', type: 'function', outputs: 1, wires: [['keep-res']],
    func: "global.get('keep', (err, v) => { msg.payload = err ? { error: err.message } : { keep: v === undefined ? null : v }; node.send(msg); }); return null;" },
  { id: 'keep-seed', z: 'keep-tab', type: 'http in', url: '/seed', method: 'post', wires: [['keep-write']] },
  { id: 'keep-write', z: 'keep-tab', type: 'function', outputs: 1, wires: [['keep-res']],
    func: "global.set('keep', msg.payload, (err) => { msg.payload = { ok: !err }; node.send(msg); }); return null;" },
];

/** What an instance has stored: its flows revision (GET /ha/snapshot) and the shared context value "keep". */
export async function storedState(nr: { request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; text: string; json: any }> }, auth: Record<string, string>) {
  const snapshot = await nr.request('GET', '/ha/snapshot', undefined, auth);
  if (snapshot.status !== 200) throw new Error(`GET /ha/snapshot answered ${snapshot.status}: ${snapshot.text}`);
  return { snapshot: snapshot.json, keep: (await nr.request('GET', '/keep')).json };
}
