import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LauncherError } from './errors';

/** A redis-server or mosquitto the launcher started for its replicas alone. */
export interface PrivateServer {
  name: string;
  url: string;
  pid: number;
  /** Resolves when the process has exited (on its own or after stop()). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** Debian installs servers in sbin folders that are not on an ordinary user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The executable `name` on the PATH (or an sbin folder), if any. */
export function findBinary(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...pathVar.split(path.delimiter).filter(Boolean), ...EXTRA_DIRS]) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Redis for shared state that lives as long as the launcher: each start runs the flows file it
 * is given (a Redis that outlived it would hand the replicas the previously stored flows).
 */
export async function startRedis(binary: string, dir: string): Promise<PrivateServer> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  return startServer('redis-server', binary, args, port, `redis://127.0.0.1:${port}`);
}

/**
 * Mosquitto for project link nodes. The stock per-client queue (1000 messages) makes bursts of
 * `project link out` fail with "Quota exceeded"; a private broker for one instance can hold more.
 */
export async function startMosquitto(binary: string, dir: string): Promise<PrivateServer> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(configFile, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 100000',
    // Run as root, mosquitto switches to its own user, which clears setpriv's parent-death signal.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ].join('\n'));
  return startServer('mosquitto', binary, ['-c', configFile], port, `mqtt://127.0.0.1:${port}`);
}

/** Runs a server and resolves once its port accepts connections (log lines differ between versions). */
function startServer(name: string, binary: string, args: string[], port: number, url: string): Promise<PrivateServer> {
  // Linux: setpriv makes the kernel stop the server if the launcher dies without stopping it (kill -9).
  const setpriv = findBinary('setpriv');
  const command = setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', '--', binary, ...args] : [binary, ...args];
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Kept for the error message if it fails to start; drained so the pipes never fill.
  const keep = (chunk: Buffer) => {
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 20));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new LauncherError('HA_LAUNCH_SERVER', `${name} (${binary}) ${why}${recent.length ? ':\n' + recent.join('\n') : ''}`));
    };
    const deadline = Date.now() + 10_000;
    child.once('error', (err) => fail(`could not run: ${err.message}`));
    child.once('exit', (code) => fail(`exited with code ${code} while starting`));
    const attempt = () => {
      if (settled) return;
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        if (settled) return;
        settled = true;
        resolve({ name, url, pid: child.pid!, exited, stop: () => stopChild(child, exited) });
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) fail('did not accept connections within 10 s');
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
