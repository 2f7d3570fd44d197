import { rolloutDuration } from '../metrics/rollout';
import type { FlowSource } from '../storage/flow-source';
import type { FlowNode } from '../storage/snapshot';
import type { ReplicaRuntime } from '../runtime/replica';
import { ApplyFailedError } from './errors';
import type { RolloutStore } from './rollout-store';
import type { ReplicaPhase } from './rollout-status';
import { missingTypes } from './snapshot';

/** Timing of the rollout on one replica. */
export interface RolloutOptions {
  /** How often a replica checks for a new revision and reports itself. @default 500 */
  pollMs?: number;
  /**
   * How long a replica stays not ready before it applies, so every load balancer has seen its
   * readiness probe fail (Kubernetes: periodSeconds x failureThreshold). @default 5000
   */
  drainMs?: number;
  /** Longest wait, after drainMs, for the HTTP requests it is still serving to finish. @default 30000 */
  drainTimeoutMs?: number;
  /** Longest wait for the new flows to start before the apply counts as failed. @default 30000 */
  applyTimeoutMs?: number;
  /** Lifetime of the rollout lock; renewed while held, so a dead replica frees it. @default 15000 */
  lockMs?: number;
}

interface Log {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Keeps one replica on the instance's head revision. When the head moves, the replica takes the
 * rollout lock (one replica at a time), marks itself not ready, drains, loads the revision the way
 * a full deploy does, waits for the flows to start, reports and marks itself ready again. If the
 * apply fails it reloads what it ran before, records the failure and moves the head back, so the
 * rollout stops and replicas that already took the revision return too.
 */
export class Reconciler {
  /** Revision whose flows are running here. */
  running: number | null = null;
  private phase: ReplicaPhase = 'starting';
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private stopped = false;
  private lastWarning?: string;
  /** Head whose load at start-up failed; not retried until the head changes. */
  private failedStart?: number;
  private readonly startedAt = Date.now();
  private readonly options: Required<RolloutOptions>;
  private readonly onStarted = () => {
    // Flows started by Node-RED itself (start-up): they run what storage last loaded.
    if (this.phase !== 'starting' || !this.source.loaded) return;
    this.markRunning(this.source.loaded.revision);
    this.poke();
  };

  constructor(
    private readonly source: FlowSource,
    private readonly rollouts: RolloutStore,
    private readonly replica: ReplicaRuntime,
    private readonly inFlight: () => number,
    private readonly log: Log,
    options: RolloutOptions = {},
  ) {
    this.options = { pollMs: 500, drainMs: 5000, drainTimeoutMs: 30_000, applyTimeoutMs: 30_000, lockMs: 15_000, ...options };
  }

  start(): void {
    this.source.runtime.events.on('flows:started', this.onStarted);
    this.timer = setInterval(() => this.poke(), this.options.pollMs);
  }

  /** Checks the head now (e.g. right after this replica accepted a push). */
  poke(): void {
    if (this.busy || this.stopped) return;
    this.busy = this.tick()
      .then(() => { this.lastWarning = undefined; })
      .catch((err: Error) => {
        // Polling repeats every pollMs: one line per distinct problem (e.g. a Redis outage) is enough.
        if (err.message !== this.lastWarning) this.log.warn(`HA rollout: ${err.message}`);
        this.lastWarning = err.message;
      })
      .finally(() => { this.busy = undefined; });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.source.runtime.events.off('flows:started', this.onStarted);
    await this.busy;
    await this.rollouts.forget(this.replica.config.replica).catch(() => undefined);
  }

  private async tick(): Promise<void> {
    // The plugin's own connection reports Redis outages; the rollout just waits for Redis.
    if (this.source.redis.status !== 'ready') return;
    await this.report();
    const head = await this.source.store.head();
    if (head === null) return this.restoreLostHead();
    if (head === this.running) return;
    if (this.running === null) return this.recoverStart(head);
    const me = this.replica.config.replica;
    if (!await this.rollouts.acquire(me, this.options.lockMs)) return;
    const renew = setInterval(() => { void this.rollouts.renew(me, this.options.lockMs).catch(() => undefined); }, this.options.lockMs / 3);
    try {
      // Another replica may have moved the head back while this one waited for the lock.
      const target = await this.source.store.head();
      if (target !== null && target !== this.running && !this.stopped) await this.apply(target);
    } finally {
      clearInterval(renew);
      await this.rollouts.release(me).catch(() => undefined);
    }
  }

  /**
   * Redis lost the flows (restarted without persistence, flushed): put back what this replica runs,
   * before a replica starting meanwhile seeds Redis from a possibly older local flow file.
   */
  private async restoreLostHead(): Promise<void> {
    const loaded = this.source.loaded;
    if (this.running === null || loaded?.revision !== this.running) return;
    const head = await this.source.store.restore(loaded);
    if (head === loaded.revision) this.log.warn(`HA rollout: Redis had no flows; restored revision ${head}, which this replica runs`);
  }

  /**
   * Flows never started from a revision here (Redis was down at start-up, or start-up loaded an
   * older head): load the head once Node-RED has had time to start on its own.
   */
  private async recoverStart(head: number): Promise<void> {
    if (Date.now() - this.startedAt < this.options.applyTimeoutMs) return;
    if (this.source.loaded?.revision === head || this.failedStart === head) return;
    this.log.info(`HA rollout: flows did not start from Redis at start-up, loading revision ${head}`);
    await this.load(head).catch((err: Error) => {
      // Not retried every poll: the next push (a new head) is the next chance.
      this.failedStart = head;
      this.log.error(`HA rollout: ${err.message}`);
    });
  }

  private async apply(target: number): Promise<void> {
    const previous = this.running!;
    const revision = await this.source.store.get(target);
    const observe = rolloutDuration.startTimer();
    this.replica.facts.rollingOut = true;
    try {
      await this.setPhase('draining');
      await this.drain();
      await this.setPhase('applying');
      this.log.info(`HA rollout: applying revision ${target} (was ${previous})`);
      await this.load(target, revision?.flows);
      this.log.info(`HA rollout: revision ${target} running`);
    } catch (err) {
      const reason = (err as Error).message;
      this.log.error(`HA rollout: ${reason}; returning to revision ${previous}`);
      await this.setPhase('rolling back');
      // A refusal before loading (e.g. missing node types) left the previous flows running.
      if (this.source.loaded?.revision !== previous || !this.replica.facts.flowsStarted) {
        await this.load(previous).catch((rollbackErr: Error) => this.log.error(`HA rollout: could not return to revision ${previous}: ${rollbackErr.message}`));
      }
      await this.rollouts.fail(target, { replica: this.replica.config.replica, reason });
      await this.source.store.moveHead(target, revision?.from ?? previous);
    } finally {
      this.replica.facts.rollingOut = false;
      observe();
      await this.setPhase(this.running === null ? 'starting' : 'running');
    }
  }

  private async drain(): Promise<void> {
    await sleep(this.options.drainMs);
    const deadline = Date.now() + this.options.drainTimeoutMs;
    while (this.inFlight() > 0 && Date.now() < deadline) await sleep(50);
  }

  /** Loads `revision` into Node-RED (a full deploy) and resolves once its flows have started. */
  private async load(revision: number, knownFlows?: FlowNode[]): Promise<void> {
    const flows = knownFlows ?? (await this.source.store.get(revision))?.flows;
    if (!flows) throw new ApplyFailedError(revision, 'the revision is missing from Redis');
    const missing = missingTypes(flows, (type) => Boolean(this.source.runtime.nodes.getType(type)));
    if (missing.length) throw new ApplyFailedError(revision, `node types not installed on this replica: ${missing.join(', ')}`);
    const started = this.nextFlowsStarted();
    this.source.pin(revision);
    try {
      await this.source.runtime.nodes.loadFlows(true);
      await started.promise;
    } catch (err) {
      throw err instanceof ApplyFailedError ? err : new ApplyFailedError(revision, (err as Error).message);
    } finally {
      started.cancel();
    }
    if (this.source.loaded?.revision !== revision) throw new ApplyFailedError(revision, `Node-RED loaded revision ${this.source.loaded?.revision} instead`);
    this.markRunning(revision);
  }

  private nextFlowsStarted(): { promise: Promise<void>; cancel(): void } {
    const events = this.source.runtime.events;
    let cancel = () => undefined as void;
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cancel();
        reject(new Error(`flows did not start within ${this.options.applyTimeoutMs} ms (see this replica's log)`));
      }, this.options.applyTimeoutMs);
      const onStarted = () => { cancel(); resolve(); };
      cancel = () => { clearTimeout(timer); events.off('flows:started', onStarted); };
      events.on('flows:started', onStarted);
    });
    return { promise, cancel: () => cancel() };
  }

  private markRunning(revision: number): void {
    this.running = revision;
    this.replica.revision = revision;
    if (this.phase === 'starting') this.phase = 'running';
  }

  private async setPhase(phase: ReplicaPhase): Promise<void> {
    this.phase = phase;
    await this.report().catch(() => undefined);
  }

  private async report(): Promise<void> {
    await this.rollouts.report({
      id: this.replica.config.replica,
      revision: this.running,
      phase: this.phase,
      ready: this.replica.readiness().ready,
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
