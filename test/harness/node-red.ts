import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './ports';
import { makeUserDir, NODE_RED_BIN } from './package';
import { Proc } from './process';

export interface NodeRedOptions {
  /** Label in failure output. */
  name?: string;
  /** NR_HA_* and other variables for this process; the test runner's own NR_HA_* never leak in. */
  env?: Record<string, string>;
  flows?: unknown[];
  /** Extra settings merged into the generated settings object (JSON-serialisable). */
  settings?: Record<string, unknown>;
  /** Extra JavaScript placed before `module.exports`, with `base` in scope, e.g. to add functions. */
  settingsPrelude?: string;
  /** Wrap settings.js with withHA (default) or leave it as a palette user would. */
  wrap?: boolean;
  /** Reuse a user dir (e.g. to restart a replica); a new one is made otherwise. */
  userDir?: string;
  port?: number;
  /** What to wait for before start() resolves; `null` to return at once. */
  waitFor?: RegExp | null;
}

/** A real Node-RED process running with the package installed in its user dir. */
export class NodeRed {
  private constructor(readonly proc: Proc, readonly port: number, readonly userDir: string, readonly options: NodeRedOptions) {}

  static async start(options: NodeRedOptions = {}): Promise<NodeRed> {
    const userDir = options.userDir ?? makeUserDir();
    const port = options.port ?? await freePort();
    writeSettings(userDir, port, options);
    if (options.flows) fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows));
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('NR_HA_') || key.startsWith('NR_HA_TEST_')),
    );
    const proc = new Proc(options.name ?? `node-red:${port}`, process.execPath,
      [NODE_RED_BIN, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')],
      { env: { ...env, ...options.env }, cwd: userDir });
    const instance = new NodeRed(proc, port, userDir, options);
    const waitFor = options.waitFor === undefined ? /Server now running/ : options.waitFor;
    if (waitFor) await proc.waitForLine(waitFor, 60_000);
    return instance;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a new process on the same user dir and port (a restarted replica). */
  restart(overrides: NodeRedOptions = {}): Promise<NodeRed> {
    return NodeRed.start({ ...this.options, ...overrides, userDir: this.userDir, port: this.port });
  }

  async request(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any }> {
    const res = await fetch(this.url + urlPath, {
      method,
      headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.proc.stop(signal);
  }

  /** Stops the process and removes its user dir. */
  async close(): Promise<void> {
    await this.proc.stop('SIGKILL');
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

function writeSettings(userDir: string, port: number, options: NodeRedOptions): void {
  const base = {
    uiPort: port,
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    credentialSecret: 'test-credential-secret',
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ...options.settings,
  };
  const exported = options.wrap === false ? 'base' : "require('node-red-ha').withHA(base)";
  fs.writeFileSync(path.join(userDir, 'settings.js'), [
    `const base = ${JSON.stringify(base, null, 2)};`,
    options.settingsPrelude ?? '',
    `module.exports = ${exported};`,
  ].join('\n'));
}
