import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { Proc, requireBinary } from './process';

/** A private redis-server on a free port that a test may stop, kill and restart. */
export class RedisServer {
  proc?: Proc;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-redis-'));

  private constructor(readonly port: number, private readonly persist: boolean) {}

  /** `persist`: append-only file with fsync on every write, so a restart keeps acknowledged writes. */
  static async start(options: { persist?: boolean } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.persist ?? false);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const binary = requireBinary('redis-server', 'redis-server');
    const durability = this.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    this.proc = new Proc(`redis:${this.port}`, binary, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...durability,
    ]);
    await this.proc.waitForLine(/Ready to accept connections/, 10_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
