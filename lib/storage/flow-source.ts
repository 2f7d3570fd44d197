import type Redis from 'ioredis';
import { redisReady } from '../redis/connection';
import type { StorageModule } from './local';
import type { Revision, RevisionStore } from './revisions';
import type { Credentials, FlowNode } from './snapshot';

/** The parts of Node-RED's internal runtime (handed to storageModule.init) that flow sync uses. */
export interface NodeRedRuntime {
  settings: { get(name: string): unknown };
  nodes: {
    /** Reloads flows from storage and (with `true`) restarts them: a full deploy. */
    loadFlows(forceStart?: boolean): Promise<unknown>;
    getType(type: string): unknown;
  };
  events: { on(event: string, fn: (...args: unknown[]) => void): void; off(event: string, fn: (...args: unknown[]) => void): void };
  log: { info(msg: string): void; warn(msg: string): void };
}

/** How long a starting replica waits for Redis before giving up on loading flows. */
const STARTUP_REDIS_WAIT_MS = 10_000;

/**
 * Decides which revision Node-RED loads: the one a rollout pinned, otherwise the head in Redis,
 * otherwise the local flow files, which then become the first revision.
 */
export class FlowSource {
  private pinned: number | null = null;
  /** The revision last handed to Node-RED; its credentials follow the flows. */
  loaded: Revision | null = null;

  constructor(
    readonly store: RevisionStore,
    readonly runtime: NodeRedRuntime,
    readonly redis: Redis,
    private readonly local: StorageModule,
  ) {}

  /** The next load runs `revision` instead of the head. */
  pin(revision: number): void {
    this.pinned = revision;
  }

  async flows(): Promise<FlowNode[]> {
    await redisReady(this.redis, STARTUP_REDIS_WAIT_MS).catch((err: Error) => {
      throw new Error(`HA flows: ${err.message}; no flows run until Redis is back, then the newest revision loads`);
    });
    const pinned = this.pinned;
    this.pinned = null;
    let target = pinned ?? await this.store.head();
    if (target === null) {
      target = await this.store.seed({ flows: await this.local.getFlows(), credentials: await this.local.getCredentials() });
      this.runtime.log.info(`HA flows: Redis had no flows, stored the local flow file as revision ${target}`);
    }
    const revision = await this.store.get(target);
    if (!revision) throw new Error(`HA flows: revision ${target} is missing from Redis`);
    this.loaded = revision;
    this.runtime.log.info(`HA flows: loading revision ${target} from Redis`);
    return revision.flows;
  }

  credentials(): Credentials {
    return this.loaded?.credentials ?? {};
  }
}

let active: FlowSource | undefined;

/** The flow source of this process when the HA storage module keeps flows in Redis. */
export function activeFlowSource(): FlowSource | undefined {
  return active;
}

export function setActiveFlowSource(source: FlowSource | undefined): void {
  active = source;
}
