import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { formatStatus } from '../../lib/cli/status';
import { registerReplicaMetrics } from '../../lib/metrics/replica-metrics';
import type { StatusReport } from '../../lib/runtime/replica';

const REPORT: StatusReport = {
  instance: 'orders',
  replica: 'orders-1',
  ha: true,
  leader: 'orders-2',
  revision: 4,
  replicas: [
    { id: 'orders-1', revision: 4, ready: true, leader: false, lastSeen: '2026-11-29T18:00:00.000Z' },
    { id: 'orders-2', revision: 4, ready: true, leader: true, lastSeen: '2026-11-29T18:00:01.000Z' },
    { id: 'orders-long-name', revision: null, ready: false, leader: false, lastSeen: '2026-11-29T17:59:50.000Z' },
  ],
};

test('status table: summary line, aligned columns, one row per replica', () => {
  assert.equal(formatStatus(REPORT, Date.parse('2026-11-29T18:00:02Z')), [
    'instance orders  leader orders-2  revision 4',
    '',
    'REPLICA           READY  LEADER  REVISION  LAST SEEN',
    'orders-1          yes    -       4         2026-11-29T18:00:00.000Z (2 s ago)',
    'orders-2          yes    leader  4         2026-11-29T18:00:01.000Z (1 s ago)',
    'orders-long-name  no     -       -         2026-11-29T17:59:50.000Z (12 s ago)',
  ].join('\n'));
});

test('metrics read the status, the message count and the shipper at scrape time', async () => {
  const registry = new Registry();
  const logs = { shipped: 7, dropped: 2, buffered: 3 };
  const counter = registerReplicaMetrics({ replica: 'orders-2', status: async () => REPORT, logs: () => logs }, registry);
  for (let i = 0; i < 5; i++) counter.handled();
  const text = await registry.metrics();
  for (const line of [
    'nrha_replicas{ready="true"} 2',
    'nrha_replicas{ready="false"} 1',
    'nrha_leader{replica="orders-2"} 1',
    'nrha_revision{replica="orders-2"} 4',
    'nrha_messages_handled_total{replica="orders-2"} 5',
    'nrha_log_entries_shipped_total{replica="orders-2"} 7',
    'nrha_log_entries_dropped_total{replica="orders-2"} 2',
    'nrha_log_buffer_entries{replica="orders-2"} 3',
  ]) assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);

  counter.handled();
  logs.dropped = 10;
  const again = await registry.metrics();
  assert.ok(again.includes('nrha_messages_handled_total{replica="orders-2"} 6'));
  assert.ok(again.includes('nrha_log_entries_dropped_total{replica="orders-2"} 10'));
});

test('registering again replaces the metrics; no revision metric before a revision is known', async () => {
  const registry = new Registry();
  registerReplicaMetrics({ replica: 'a', status: () => REPORT }, registry);
  registerReplicaMetrics({ replica: 'b', status: () => ({ ...REPORT, revision: null, leader: null }) }, registry);
  const text = await registry.metrics();
  assert.ok(text.includes('nrha_leader{replica="b"} 0'));
  assert.ok(!/^nrha_revision\{/m.test(text), text);
  assert.ok(!text.includes('nrha_log_entries'), 'no log metrics when logs are not shipped');
});
