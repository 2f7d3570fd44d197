import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { Proc, requireBinary } from './process';

/**
 * A private Mosquitto on a free port. By default it runs with the stock limits (like a broker
 * a user installs from Debian); `extraConfig` lines can change them.
 */
export class MosquittoServer {
  proc?: Proc;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-mosquitto-'));

  private constructor(readonly port: number, private readonly extraConfig: string[]) {}

  static async start(options: { extraConfig?: string[] } = {}): Promise<MosquittoServer> {
    const server = new MosquittoServer(await freePort(), options.extraConfig ?? []);
    await server.restart();
    return server;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const binary = requireBinary('mosquitto', 'mosquitto');
    const configFile = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(configFile, [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      // Mosquitto 2.0.11 logs "mosquitto version … running" at the information level.
      'log_type information',
      ...this.extraConfig,
    ].join('\n') + '\n');
    this.proc = new Proc(`mosquitto:${this.port}`, binary, ['-c', configFile]);
    await this.proc.waitForLine(/mosquitto version .* running/, 10_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
