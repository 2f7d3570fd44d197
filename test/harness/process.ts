import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const running = new Set<ChildProcess>();
// A test that fails mid-way must not leave servers behind for the next one.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A child process whose output is kept line by line so tests can wait for and assert on it. */
export class Proc {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(readonly name: string, command: string, args: string[], options: SpawnOptions = {}) {
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    const keep = (parts: string[]) => {
      this.lines.push(...parts);
      if (process.env.NR_HA_TEST_VERBOSE) parts.forEach((l) => console.error(`[${name}] ${l}`));
      this.waiters.forEach((wake) => wake());
    };
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        if (parts.length) keep(parts);
      });
      stream.on('end', () => {
        if (partial) keep([partial]);
        partial = '';
      });
    }
    this.exited = new Promise((resolve) => {
      // 'exit' can come before the last output has been read; 'close' comes after it. A grandchild
      // still holding the pipes would delay 'close' indefinitely, hence the cap.
      let code: number | null = null;
      let cap: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(cap);
        resolve(code);
        this.waiters.forEach((wake) => wake());
      };
      this.child.on('exit', (exitCode, signal) => {
        running.delete(this.child);
        code = exitCode ?? (signal ? 128 : null);
        cap = setTimeout(done, 1000);
      });
      this.child.on('close', done);
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line matching `pattern`; rejects on timeout or if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.slice(from).find((l) => pattern.test(l));
        if (line !== undefined) return done(() => resolve(line));
        if (!this.alive) return done(() => reject(new Error(`${this.name} exited before printing ${pattern}:\n${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        settle();
      };
      this.waiters.push(check);
      check();
    });
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Finds an executable on PATH (plus the sbin folders Debian puts servers in), or says how to get it. */
export function requireBinary(name: string, aptPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} is not installed (not found on PATH): these tests need a real ${name}; install it with apt-get install -y ${aptPackage}`);
}
