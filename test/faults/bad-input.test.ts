/**
 * Bad input to an HA instance's admin side: garbage pushed to /ha/sync, unauthorised and malformed
 * admin calls, and invalid environment values (payloads on the link topics: link-input.test.ts).
 * Each gets an error that names the problem; the process keeps running and nothing stored (flows
 * revision, shared context) changes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeRed } from '../harness/node-red';
import { RedisServer } from '../harness/redis';
import { Figures, KEEP_FLOW, storedState } from './support';

const TOKEN = 'bad-input-sync-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

describe('bad input', () => {
  const figures = new Figures('bad input');
  let redis: RedisServer;
  let nr: NodeRed;

  before(async () => {
    redis = await RedisServer.start();
    nr = await NodeRed.start({
      name: 'bad-1', flows: KEEP_FLOW,
      env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'bad', NR_HA_REPLICA: 'bad-1', NR_HA_REDIS_URL: redis.url, NR_HA_SYNC_TOKEN: TOKEN },
    });
    await nr.proc.waitForLine(/Started flows/);
    assert.deepEqual((await nr.request('POST', '/seed', { nested: { list: [1, 2, 3] }, text: 'kept' })).json, { ok: true });
  });
  after(async () => {
    figures.print();
    await nr?.close();
    await redis?.close();
  });

  const stored = () => storedState(nr, AUTH);

  test('/ha/sync with garbage, wrong types, a huge body or no authorisation: a named error, nothing changes', async () => {
    const before = await stored();
    const json = { 'Content-Type': 'application/json' };
    const cases: Array<[string, string, Record<string, string>, number, RegExp]> = [
      ['no token', JSON.stringify({ flows: [] }), json, 401, /ha_unauthorized.*Bearer <NR_HA_SYNC_TOKEN>/],
      ['wrong token', JSON.stringify({ flows: [] }), { ...json, Authorization: 'Bearer not-the-token' }, 401, /ha_unauthorized.*does not match/],
      ['not JSON', '{"flows": [', { ...json, ...AUTH }, 400, /ha_snapshot_invalid.*not valid JSON/],
      ['not declared as JSON', 'flows=1', { 'Content-Type': 'text/plain', ...AUTH }, 400, /ha_snapshot_invalid.*Content-Type: application\/json/],
      ['a number', '42', { ...json, ...AUTH }, 400, /ha_snapshot_invalid/],
      ['flows not an array', JSON.stringify({ flows: 'all of them' }), { ...json, ...AUTH }, 400, /\\"flows\\" must be an array of nodes, got a string/],
      ['nodes without ids and types', JSON.stringify({ flows: [{ type: 'tab' }, { id: 7, type: 'tab' }, { id: 'a' }] }), { ...json, ...AUTH }, 400, /flows\[0\] has no string \\"id\\".*flows\[2\] \(id a\) has no string \\"type\\"/],
      ['credentials of the wrong type', JSON.stringify({ flows: [], credentials: 'secret' }), { ...json, ...AUTH }, 400, /\\"credentials\\" must be an object/],
      ['a node type this image lacks', JSON.stringify({ flows: [{ id: 'x', type: 'not-installed-node' }] }), { ...json, ...AUTH }, 400, /not-installed-node/],
      ['6 MiB body', JSON.stringify({ flows: [{ id: 'c', type: 'comment', info: 'x'.repeat(6 * 1024 * 1024) }] }), { ...json, ...AUTH }, 413, /ha_snapshot_too_large.*apiMaxLength/],
    ];
    for (const [label, body, headers, status, message] of cases) {
      const res = await fetch(`${nr.url}/ha/sync`, { method: 'POST', headers, body });
      const text = await res.text();
      assert.equal(res.status, status, `${label}: ${res.status} ${text.slice(0, 200)}`);
      assert.match(text, message, label);
      assert.doesNotMatch(text, new RegExp(TOKEN), `${label}: the token is never echoed`);
    }
    figures.add('/ha/sync', 'bad pushes refused with a named error (no token, garbage, wrong types, 6 MiB)', `${cases.length} of ${cases.length}`);
    assert.ok(nr.proc.alive);
    assert.deepEqual(await stored(), before, 'revision, flows and context unchanged');
    assert.doesNotMatch(nr.proc.output(), new RegExp(TOKEN), 'the token never reaches a log line');
  });

  test('other admin calls with bad input: a named 4xx, nothing changes', async () => {
    const before = await stored();
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['deploy through the admin API', '/flows', [], 403, /ha_read_only.*node-red-ha push/],
      ['rollout status of a non-number', '/ha/sync/abc', undefined, 400, /ha_bad_revision/],
      ['logs with an unknown level', '/ha/logs?level=loud', undefined, 400, /level/],
      ['logs with a negative limit', '/ha/logs?limit=-5', undefined, 400, /limit/],
    ];
    for (const [label, path, body, status, message] of cases) {
      const res = await nr.request(body === undefined ? 'GET' : 'POST', path, body);
      assert.equal(res.status, status, `${label}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.match(res.text, message, label);
    }
    assert.ok(nr.proc.alive);
    assert.deepEqual(await stored(), before);
  });

  test('invalid environment values: start-up stops with a message naming the variable; secrets never shown', async () => {
    const base = { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'bad', NR_HA_REDIS_URL: redis.url };
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['team with a slash', { NR_HA_TEAM: 'team/one' }, /NR_HA_TEAM must be 1-64 characters .* got "team\/one"/],
      ['unknown log format', { NR_HA_LOG_FORMAT: 'xml' }, /NR_HA_LOG_FORMAT must be one of text, json, got "xml"/],
      ['lease out of range', { NR_HA_LEASE_MS: '50' }, /NR_HA_LEASE_MS must be a whole number of milliseconds from 1000 to 600000, got "50"/],
      ['MQTT URL of another scheme', { NR_HA_MQTT_URL: 'ftp://127.0.0.1' }, /NR_HA_MQTT_URL must be a mqtt:\/\/host/],
      ['Redis URL with a password but no host', { NR_HA_REDIS_URL: 'redis://:hunter2-secret@' }, /NR_HA_REDIS_URL/],
    ];
    const outcomes = await Promise.all(cases.map(async ([label, env]) => {
      const bad = await NodeRed.start({ name: `env ${label}`, env: { ...base, ...env }, flows: KEEP_FLOW, waitFor: null });
      try {
        const code = await Promise.race([bad.proc.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 60_000))]);
        return { code, output: bad.proc.output() };
      } finally {
        await bad.close();
      }
    }));
    for (const [i, [label, , message]] of cases.entries()) {
      const { code, output } = outcomes[i];
      assert.notEqual(code, 0, `${label}: exit code`);
      assert.notEqual(code, 'still running', `${label}: start-up stops`);
      assert.match(output, message, label);
      assert.doesNotMatch(output, /Server now running/, `${label}: never serves`);
      assert.doesNotMatch(output, /hunter2-secret/, `${label}: no secret in the output`);
    }
    figures.add('environment', 'invalid values that stop start-up with the variable named', `${cases.length} of ${cases.length}`);
  });
});
