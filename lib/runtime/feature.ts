import type Redis from 'ioredis';
import type { HAConfig } from '../config';
import type { AccessLevel, Middleware } from '../admin/auth';
import type { ReplicaRuntime } from './replica';

/** The slice of Node-RED's plugin API that features use. */
export interface NodeRedApi {
  log: {
    info(msg: unknown): void; warn(msg: unknown): void; error(msg: unknown): void; debug(msg: unknown): void;
    /** Node-RED emits "log" on the handler for every event, metric and audit events too. */
    addHandler(handler: import('node:events').EventEmitter): void;
    removeHandler(handler: import('node:events').EventEmitter): void;
  };
  settings: Record<string, unknown>;
  events: { on(event: string, fn: (...args: unknown[]) => void): void };
  hooks: { add(name: string, fn: (...args: any[]) => unknown): void; remove(name: string): void };
  httpAdmin: { get(path: string, ...handlers: unknown[]): void; post(path: string, ...handlers: unknown[]): void };
  auth: { needsPermission(permission: string): Middleware };
}

/** What every feature gets when the plugin starts it. */
export interface FeatureContext {
  RED: NodeRedApi;
  config: HAConfig;
  replica: ReplicaRuntime;
  /** This replica's shared Redis connection; undefined when NR_HA_REDIS_URL is not set. */
  redis?: Redis;
  /** Authorization middleware for /ha/* routes (sync token or adminAuth). */
  access(level: AccessLevel): Middleware;
}

/**
 * One concern of the runtime plugin (admin routes, leader election, log shipping, …).
 * The plugin starts them in order and stops them in reverse order.
 */
export interface HAFeature {
  name: string;
  start(ctx: FeatureContext): void | Promise<void>;
  stop?(): void | Promise<void>;
}
