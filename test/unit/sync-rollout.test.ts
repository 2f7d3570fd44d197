import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../lib/errors';
import { progressLines, push, PushError } from '../../lib/cli/push';
import { freePort } from '../harness/ports';
import { parseRolloutOptions } from '../../lib/sync/options';
import { ReplicaReport, rolloutStatus, RolloutFacts } from '../../lib/sync/rollout-status';

const NOW = 1_700_000_000_000;
const report = (id: string, revision: number | null, phase: ReplicaReport['phase'] = 'running', ageMs = 100): ReplicaReport =>
  ({ id, revision, phase, ready: phase === 'running', seenMs: NOW - ageMs });
const facts = (overrides: Partial<RolloutFacts>): RolloutFacts =>
  ({ revision: 5, from: 4, head: 5, failure: null, reports: [], nowMs: NOW, liveMs: 5000, ...overrides });

describe('rolloutStatus', () => {
  test('rolling while any live replica runs another revision or is mid-apply', () => {
    assert.equal(rolloutStatus(facts({ reports: [report('a', 5), report('b', 4)] })).state, 'rolling');
    assert.equal(rolloutStatus(facts({ reports: [report('a', 5), report('b', 5, 'applying')] })).state, 'rolling');
  });

  test('done when every live replica runs the revision; dead replicas are not waited for', () => {
    const status = rolloutStatus(facts({ reports: [report('b', 5), report('a', 5), report('gone', 4, 'running', 6000)] }));
    assert.equal(status.state, 'done');
    assert.deepEqual(status.replicas.map((r) => r.id), ['a', 'b']);
    assert.equal(status.replicas[0].lastSeen, new Date(NOW - 100).toISOString());
  });

  test('not done while no replica is live', () => {
    assert.equal(rolloutStatus(facts({ reports: [report('gone', 5, 'running', 9000)] })).state, 'rolling');
  });

  test('failed names the replica and reason, even after the head moved back', () => {
    const status = rolloutStatus(facts({ head: 4, failure: { replica: 'b', reason: 'node types not installed on this replica: x' }, reports: [report('a', 4)] }));
    assert.equal(status.state, 'failed');
    assert.equal(status.reason, 'replica b: node types not installed on this replica: x');
  });

  test('superseded when a newer revision became the head first', () => {
    const status = rolloutStatus(facts({ head: 6, reports: [report('a', 6), report('b', 5)] }));
    assert.equal(status.state, 'superseded');
    assert.match(status.reason!, /revision 6 was pushed/);
  });
});

describe('push progress lines', () => {
  test('one line per replica whose phase or revision changed', () => {
    const seen = new Map<string, string>();
    const base = rolloutStatus(facts({ reports: [report('a', 4, 'draining'), report('b', 4)] }));
    assert.deepEqual(progressLines(seen, base), ['  b: running revision 4', '  a: draining (ran revision 4)']);
    assert.deepEqual(progressLines(seen, base), []);
    const next = rolloutStatus(facts({ reports: [report('a', 5), report('b', 4)] }));
    assert.deepEqual(progressLines(seen, next), ['  a: running revision 5 (done)']);
    const overlap = rolloutStatus(facts({ reports: [report('a', 5), report('b', 4, 'draining'), report('c', 5)] }));
    assert.deepEqual(progressLines(seen, overlap), ['  c: running revision 5 (done)', '  b: draining (ran revision 4)']);
  });
});

describe('push', () => {
  test('an unreachable development instance is named with the cause', async () => {
    const port = await freePort();
    await assert.rejects(push({ from: `http://127.0.0.1:${port}`, to: 'http://127.0.0.1:1' }, () => undefined),
      (err: PushError) => err.code === 'ha_push_failed' && err.message === `cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe('parseRolloutOptions', () => {
  test('reads the known timings', () => {
    assert.deepEqual(parseRolloutOptions(undefined), {});
    assert.deepEqual(parseRolloutOptions({ drainMs: 0, applyTimeoutMs: 60000 }), { drainMs: 0, applyTimeoutMs: 60000 });
  });

  test('names a bad key or value', () => {
    assert.throws(() => parseRolloutOptions({ drain: 5 }), (err: ConfigError) => err.variable === 'haRollout.drain' && /not a rollout option/.test(err.message));
    assert.throws(() => parseRolloutOptions({ drainMs: '5s' }), /haRollout.drainMs must be a whole number .* got "5s"/);
    assert.throws(() => parseRolloutOptions([]), /must be an object/);
  });
});
