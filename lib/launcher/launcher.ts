import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config';
import { restartDelay, STABLE_AFTER_MS } from './backoff';
import { LauncherError } from './errors';
import { needsLinkIntoUserDir, PACKAGE_ROOT, resolveNodeRed } from './node-red-install';
import { LaunchOptions, replicaId } from './options';
import { findBinary, freePort, PrivateServer, startMosquitto, startRedis } from './private-servers';
import { ProxyTarget, ReplicaProxy } from './proxy';
import { describeServices, planServices } from './services';
import { credentialSecret, generatedSettings, prepareReplicaDir, readFlows } from './user-dir';

export type LogLevel = 'info' | 'warn' | 'error';
export type LauncherLog = (level: LogLevel, text: string) => void;

const ORPHAN_GUARD = path.join(__dirname, 'orphan-guard.js');
const PROBE_TIMEOUT_MS = 2000;
const GIVE_UP_AFTER = 5;

/** One replica slot: the process currently filling it and what the proxy needs to reach it. */
class Replica implements ProxyTarget {
  ready = false;
  port = 0;
  agent = keepAliveAgent();
  child?: ChildProcess;
  exited?: Promise<void>;
  crashes = 0;
  startedAt = 0;
  /** Bumped per process, so a probe answer from a previous process is ignored. */
  generation = 0;
  probing = false;
  restartTimer?: NodeJS.Timeout;

  constructor(readonly id: string, readonly dir: string) {}

  markUnreachable(): void {
    this.ready = false;
  }
}

/** Node-RED's server closes idle connections after 5 s; dropping ours first avoids reusing a closing one. */
function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, timeout: 4000, maxFreeSockets: 256 });
}

/**
 * `node-red-ha start`: N Node-RED replicas of one instance on this host behind one port, with
 * private Redis/Mosquitto when none is given, crash restarts with back-off, and a graceful stop.
 */
export class Launcher {
  private readonly replicas: Replica[] = [];
  private readonly servers: PrivateServer[] = [];
  private readonly proxy = new ReplicaProxy(() => this.replicas);
  private readonly env: NodeJS.ProcessEnv = {};
  private args: string[] = [];
  private probeTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private allReadyOnce = false;
  private anyReadyOnce = false;
  private giveUp?: (reason: Error) => void;
  /**
   * Rejects when the replicas cannot start at all (every start so far failed, GIVE_UP_AFTER times
   * in a row for one of them: a broken settings file or flows, not a passing crash).
   */
  readonly failed = new Promise<never>((_resolve, reject) => { this.giveUp = reject; });

  constructor(private readonly options: LaunchOptions, private readonly log: LauncherLog, private readonly cwd = process.cwd()) {
    // Only a caller that awaits `failed` acts on it; nobody else must see an unhandled rejection.
    this.failed.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { options } = this;
    // Every replica would fail the same way on a bad NR_HA_* variable: say so once, up front.
    parseConfig({
      env: { ...process.env, NR_HA_ENABLED: 'true', NR_HA_INSTANCE: options.instance, NR_HA_REPLICA: replicaId(options.instance, 0) },
      hostname: os.hostname(),
    });
    const nodeRed = resolveNodeRed(this.cwd);
    const flows = options.flowsFile ? { file: options.flowsFile, text: readFlows(options.flowsFile) } : undefined;
    if (options.settingsFile && !fs.existsSync(options.settingsFile)) {
      throw new LauncherError('HA_LAUNCH_FILE', `settings file ${options.settingsFile} does not exist`);
    }
    fs.mkdirSync(options.userDir, { recursive: true });
    const settingsFile = options.settingsFile ?? path.join(options.userDir, 'settings.js');
    if (!options.settingsFile) fs.writeFileSync(settingsFile, generatedSettings(PACKAGE_ROOT));

    await this.proxy.listen(options.port, options.host).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        throw new LauncherError('HA_LAUNCH_PORT_IN_USE', `port ${options.port} on ${options.host} is in use: choose another with --port`);
      }
      throw err;
    });
    Object.assign(this.env, process.env);
    try {
      await this.startServices();
    } catch (err) {
      await this.stop();
      throw err;
    }

    const link = needsLinkIntoUserDir(PACKAGE_ROOT, nodeRed.coreNodesDir) ? PACKAGE_ROOT : undefined;
    for (let i = 0; i < options.replicas; i++) {
      const id = replicaId(options.instance, i);
      const replica = new Replica(id, path.join(options.userDir, id));
      prepareReplicaDir(replica.dir, flows, link);
      this.replicas.push(replica);
    }
    Object.assign(this.env, {
      NR_HA_ENABLED: 'true',
      NR_HA_INSTANCE: options.instance,
      NODE_RED_CREDENTIAL_SECRET: process.env.NODE_RED_CREDENTIAL_SECRET || credentialSecret(options.userDir),
    });
    this.args = ['--require', ORPHAN_GUARD, nodeRed.redJs, '--settings', settingsFile, '-D', 'uiHost=127.0.0.1'];

    const { port } = this.proxy.server.address() as { port: number };
    this.log('info', `node-red-ha start (pid ${process.pid}): ${options.replicas} replicas of ${options.instance} ` +
      `(node-red ${nodeRed.version}) behind http://${options.host}:${port}, user dir ${options.userDir}`);
    await Promise.all(this.replicas.map((replica) => this.spawn(replica, flows !== undefined)));
    this.probeTimer = setInterval(() => this.replicas.forEach((replica) => this.probe(replica)), options.probeIntervalMs);
  }

  /** The port the proxy listens on (useful with --port 0). */
  get port(): number {
    return (this.proxy.server.address() as { port: number }).port;
  }

  /** Stops accepting requests, stops every replica (SIGTERM, then SIGKILL after the timeout), then the private servers. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async startServices(): Promise<void> {
    const { options } = this;
    const plans = planServices(options, (name) => findBinary(name));
    for (const line of describeServices(plans, options.privateServers)) this.log(line.level, line.text);
    delete this.env.NR_HA_REDIS_URL;
    delete this.env.NR_HA_MQTT_URL;
    const services = [
      { plan: plans.redis, variable: 'NR_HA_REDIS_URL', start: (binary: string) => startRedis(binary, path.join(options.userDir, 'redis')) },
      { plan: plans.mqtt, variable: 'NR_HA_MQTT_URL', start: (binary: string) => startMosquitto(binary, path.join(options.userDir, 'mosquitto')) },
    ];
    for (const { plan, variable, start } of services) {
      if (plan.kind === 'given') this.env[variable] = plan.url;
      if (plan.kind !== 'private') continue;
      const server = await start(plan.binary);
      this.servers.push(server);
      this.env[variable] = server.url;
      this.log('info', `${server.name} started pid ${server.pid} on ${server.url}`);
      void server.exited.then(() => {
        if (!this.stopping) this.log('error', `${server.name} (pid ${server.pid}) exited; the replicas lose it until node-red-ha start is restarted`);
      });
    }
  }

  private async spawn(replica: Replica, withFlows: boolean): Promise<void> {
    replica.restartTimer = undefined;
    if (this.stopping) return;
    replica.port = await freePort();
    if (this.stopping) return;
    replica.generation++;
    replica.startedAt = Date.now();
    const args = [...this.args, '--userDir', replica.dir, '--port', String(replica.port)];
    if (withFlows) args.push(path.join(replica.dir, 'flows.json'));
    const child = spawn(process.execPath, args, {
      cwd: replica.dir,
      env: { ...this.env, NR_HA_REPLICA: replica.id },
      // Replica lines already carry the replica id (withHA), so they go straight to our output.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    replica.child = child;
    replica.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.onExit(replica, child, code, signal, withFlows);
      resolve();
    }));
    child.once('error', (err) => this.log('error', `replica ${replica.id} could not be started: ${err.message}`));
    this.log('info', `replica ${replica.id} started pid ${child.pid} port ${replica.port}`);
  }

  private onExit(replica: Replica, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, withFlows: boolean): void {
    if (replica.child !== child) return;
    replica.child = undefined;
    replica.ready = false;
    replica.agent.destroy();
    replica.agent = keepAliveAgent();
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      this.log('info', `replica ${replica.id} stopped (${how})`);
      return;
    }
    if (Date.now() - replica.startedAt >= STABLE_AFTER_MS) replica.crashes = 0;
    replica.crashes++;
    if (!this.anyReadyOnce && replica.crashes >= GIVE_UP_AFTER) {
      this.giveUp?.(new LauncherError('HA_LAUNCH_REPLICAS_FAIL',
        `replica ${replica.id} exited with ${how} ${replica.crashes} times in a row and no replica has become ready: see its output above`));
      return;
    }
    const delay = restartDelay(replica.crashes, this.options.restartDelayMs, this.options.maxRestartDelayMs);
    this.log('warn', `replica ${replica.id} (pid ${child.pid}) exited with ${how}; restarting in ${delay / 1000} s (crash ${replica.crashes} in a row)`);
    replica.restartTimer = setTimeout(() => {
      this.spawn(replica, withFlows).catch((err: Error) => this.log('error', `replica ${replica.id} could not be restarted: ${err.message}`));
    }, delay);
  }

  private probe(replica: Replica): void {
    if (!replica.child || replica.probing || this.stopping) return;
    replica.probing = true;
    const generation = replica.generation;
    const done = (ready: boolean, reason?: string) => {
      replica.probing = false;
      if (generation !== replica.generation || !replica.child || this.stopping) return;
      if (ready !== replica.ready) {
        if (ready) this.log('info', `replica ${replica.id} ready`);
        else this.log('warn', `replica ${replica.id} not ready: ${reason}`);
      }
      replica.ready = ready;
      if (ready) this.anyReadyOnce = true;
      if (ready && !this.allReadyOnce && this.replicas.every((r) => r.ready)) {
        this.allReadyOnce = true;
        this.log('info', `all ${this.replicas.length} replicas ready on http://${this.options.host}:${this.port}`);
      }
    };
    const probePath = `${this.options.adminRoot}ha/health/ready`;
    const req = http.get({ host: '127.0.0.1', port: replica.port, path: probePath, agent: replica.agent, timeout: PROBE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => done(res.statusCode === 200, probeFailure(probePath, res.statusCode, body)));
      res.on('error', () => done(false, 'probe response broken'));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => done(false, err.message));
  }

  private async stopAll(): Promise<void> {
    clearInterval(this.probeTimer);
    for (const replica of this.replicas) {
      clearTimeout(replica.restartTimer);
      replica.ready = false;
    }
    this.proxy.stopAccepting();
    await Promise.all(this.replicas.map(async (replica) => {
      const child = replica.child;
      if (!child) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.log('warn', `replica ${replica.id} did not stop within ${this.options.stopTimeoutMs / 1000} s: killing it`);
        child.kill('SIGKILL');
      }, this.options.stopTimeoutMs);
      await replica.exited;
      clearTimeout(timer);
    }));
    this.proxy.destroyAll();
    for (const replica of this.replicas) replica.agent.destroy();
    await Promise.all(this.servers.map((server) => server.stop()));
    if (this.replicas.length || this.servers.length) this.log('info', 'stopped');
  }
}

function probeFailure(probePath: string, status: number | undefined, body: string): string {
  if (status === 404) return `${probePath} answered 404: the node-red-ha plugin is not loaded in this replica`;
  try {
    const reason = (JSON.parse(body) as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
  } catch {
    // not JSON: fall through to the status
  }
  return `${probePath} answered ${status}`;
}
