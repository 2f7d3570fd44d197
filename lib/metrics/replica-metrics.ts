import { Counter, Gauge, Registry } from 'prom-client';
import type { StatusReport } from '../runtime/replica';
import { haMetrics } from './registry';

/** Where the replica metrics read their values at scrape time. */
export interface ReplicaMetricSources {
  /** This replica's id: the `replica` label. */
  replica: string;
  /** The /ha/status report (all replicas, leader, revision). */
  status(): StatusReport | Promise<StatusReport>;
  /** Log shipping counters; absent when logs are not shipped. */
  logs?(): { shipped: number; dropped: number; buffered: number };
}

/** What the runtime calls on its hot path; a plain increment, read by the metric at scrape time. */
export interface MessageCounter {
  handled(): void;
}

/**
 * Registers the replica, leader, revision, message and log-shipping metrics on `registry`. The
 * values are read when Prometheus scrapes, so nothing is computed per message but one increment.
 * Registering again replaces the previous metrics (one plugin per process, but tests restart it).
 */
export function registerReplicaMetrics(sources: ReplicaMetricSources, registry: Registry = haMetrics): MessageCounter {
  const labels = { replica: sources.replica };
  let handled = 0;
  const replace = <T>(name: string, make: () => T): T => {
    registry.removeSingleMetric(name);
    return make();
  };
  const registers = [registry];
  const status = async () => sources.status();

  replace('nrha_replicas', () => new Gauge({
    name: 'nrha_replicas', help: 'Replicas of this instance that are alive, by readiness', labelNames: ['ready'], registers,
    async collect() {
      const { replicas } = await status();
      const ready = replicas.filter((r) => r.ready).length;
      this.set({ ready: 'true' }, ready);
      this.set({ ready: 'false' }, replicas.length - ready);
    },
  }));
  replace('nrha_leader', () => new Gauge({
    name: 'nrha_leader', help: '1 when this replica is the leader, else 0', labelNames: ['replica'], registers,
    async collect() {
      this.set(labels, (await status()).leader === sources.replica ? 1 : 0);
    },
  }));
  replace('nrha_revision', () => new Gauge({
    name: 'nrha_revision', help: 'Flow revision this replica runs (absent until it runs a stored revision)', labelNames: ['replica'], registers,
    async collect() {
      const { revision } = await status();
      this.reset();
      if (revision !== null) this.set(labels, revision);
    },
  }));
  replace('nrha_messages_handled_total', () => new Counter({
    name: 'nrha_messages_handled_total', help: 'Messages nodes on this replica finished handling (Node-RED onComplete events)', labelNames: ['replica'], registers,
    collect() {
      this.reset();
      this.inc(labels, handled);
    },
  }));
  if (sources.logs) {
    const logs = sources.logs;
    replace('nrha_log_entries_shipped_total', () => new Counter({
      name: 'nrha_log_entries_shipped_total', help: 'Log entries written to the instance log stream in Redis', labelNames: ['replica'], registers,
      collect() {
        this.reset();
        this.inc(labels, logs().shipped);
      },
    }));
    replace('nrha_log_entries_dropped_total', () => new Counter({
      name: 'nrha_log_entries_dropped_total', help: 'Log entries dropped because Redis was slow or down and the buffer was full', labelNames: ['replica'], registers,
      collect() {
        this.reset();
        this.inc(labels, logs().dropped);
      },
    }));
    replace('nrha_log_buffer_entries', () => new Gauge({
      name: 'nrha_log_buffer_entries', help: 'Log entries waiting in memory to be written to Redis', labelNames: ['replica'], registers,
      collect() {
        this.set(labels, logs().buffered);
      },
    }));
  }
  return { handled: () => { handled++; } };
}
