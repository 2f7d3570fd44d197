import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { followerDelay, LeaseClock, leaseTiming, parseHolder } from '../../lib/leader/lease';
import { gatePasses, gateStatus, parseGateMode } from '../../lib/leader/gate';
import { singletonGate } from '../../lib/singleton/gate';
import { decodeRows } from '../../lib/membership/table';

describe('leader lease timing', () => {
  for (const leaseMs of [1000, 2000, 5000, 600_000]) {
    test(`lease ${leaseMs} ms: renewals well before expiry, local step-down before anyone can take over`, () => {
      const t = leaseTiming(leaseMs);
      assert.ok(t.renewMs * 2 < leaseMs - t.safetyMs, 'two renewals fit before the local deadline');
      assert.ok(t.safetyMs >= 100 && t.safetyMs < leaseMs / 2);
      const clock = new LeaseClock(t);
      clock.granted(1000);
      assert.equal(clock.valid(1000 + leaseMs - t.safetyMs - 1), true);
      assert.equal(clock.valid(1000 + leaseMs - t.safetyMs), false, 'not leader at the deadline');
      assert.ok(1000 + leaseMs - t.safetyMs < 1000 + leaseMs, 'the deadline is before the earliest expiry in Redis');
    });
  }

  test('a late renewal reply never moves validity back; revoke ends it', () => {
    const clock = new LeaseClock(leaseTiming(2000));
    clock.granted(5000);
    clock.granted(4000);
    assert.equal(clock.valid(6500), true);
    clock.revoke();
    assert.equal(clock.valid(5001), false);
    assert.equal(clock.remaining(5001), 0);
  });

  test('followers try again right after the lease can expire, at least every renew period', () => {
    const t = leaseTiming(3000);
    assert.equal(followerDelay(t, 200), 205);
    assert.equal(followerDelay(t, 2900), t.renewMs);
    assert.equal(followerDelay(t, -2), t.retryMs);
  });

  test('lease values name the replica and the term', () => {
    assert.deepEqual(parseHolder('orders-1 ab12 7'), { replica: 'orders-1', token: 'ab12', term: 7 });
    assert.equal(parseHolder('garbage'), undefined);
  });
});

describe('singleton gate (onSend hook)', () => {
  const events = (type: string) => [{ source: { node: { type } } }];
  test('drops singleton types on a non-leader, passes them on the leader, never touches other types', () => {
    let leader = false;
    const gate = singletonGate(['inject', 'cronplus'], () => leader);
    assert.equal(gate(events('inject')), false);
    assert.equal(gate(events('cronplus')), false);
    assert.equal(gate(events('function')), undefined);
    leader = true;
    assert.equal(gate(events('inject')), undefined);
  });
});

describe('ha gate', () => {
  const state = (mode: 'elected' | 'single' | 'unavailable', leader: boolean, leaderId: string | null = null) =>
    ({ mode, leader, term: leader ? 3 : null, leaderId });

  test('leader mode passes only on the leader, followers mode only elsewhere', () => {
    assert.equal(parseGateMode(undefined), 'leader');
    assert.equal(parseGateMode('followers'), 'followers');
    assert.equal(gatePasses('leader', true), true);
    assert.equal(gatePasses('leader', false), false);
    assert.equal(gatePasses('followers', false), true);
  });

  test('status shows the role', () => {
    assert.deepEqual(gateStatus('leader', state('elected', true, 'a')), { fill: 'green', shape: 'dot', text: 'leader (term 3), passing' });
    assert.deepEqual(gateStatus('leader', state('elected', false, 'a')), { fill: 'grey', shape: 'ring', text: 'follower (leader: a), blocking' });
    assert.match(gateStatus('leader', state('unavailable', true)).text, /no leader election: Redis not configured/);
    assert.equal(gateStatus('leader', state('unavailable', true)).fill, 'yellow');
    assert.match(gateStatus('followers', state('single', true)).text, /HA off.*blocking/);
  });
});

describe('membership rows', () => {
  test('valid rows sorted by id; malformed ones skipped', () => {
    const row = (id: string) => JSON.stringify({ id, revision: 2, ready: true, leader: id === 'b', lastSeen: '2026-01-01T00:00:00.000Z' });
    const rows = decodeRows([row('c'), row('b'), '{"id":5}', 'nope', null]);
    assert.deepEqual(rows.map((r) => [r.id, r.leader]), [['b', true], ['c', false]]);
  });
});
