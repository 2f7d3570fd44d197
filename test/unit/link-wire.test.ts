import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { annotateReceived, decodeMessage, encodeMessage, MAX_INBOUND_BYTES } from '../../lib/link/wire';
import { LinkWireError } from '../../lib/link/errors';

const roundTrip = (msg: Record<string, unknown>) => decodeMessage(encodeMessage(msg));

describe('link wire codec', () => {
  test('Buffer, Map, Set, BigInt and undefined survive, nested too', () => {
    const msg = {
      payload: Buffer.from([0, 1, 254, 255]),
      map: new Map<unknown, unknown>([['a', 1], ['b', new Set([1n, 'x'])]]),
      set: new Set([1, 'two', { three: 3 }]),
      big: 12345678901234567890n,
      negative: -5n,
      nothing: undefined,
      list: [undefined, Buffer.from('hi'), null],
      deep: { inner: { value: undefined, buf: Buffer.from('x') } },
    };
    const back = roundTrip(msg);
    assert.deepEqual(back, msg);
    assert.ok('nothing' in back, 'an undefined property stays a property');
    assert.ok(Buffer.isBuffer(back.payload));
  });

  test('Map and Set made in another context (a function node) are recognised', () => {
    const made = vm.runInNewContext('({ m: new Map([["k", 1]]), s: new Set([2]) })') as { m: Map<string, number>; s: Set<number> };
    const back = roundTrip({ payload: made });
    assert.deepEqual(back.payload, { m: new Map([['k', 1]]), s: new Set([2]) });
  });

  test('functions never travel and are never revived', () => {
    const sent = JSON.parse(encodeMessage({ payload: 1, fn: () => 42 }).toString());
    assert.equal('fn' in sent, false);
    // A FlowFuse sender wraps functions; we drop them instead of running their source.
    const evil = Buffer.from(JSON.stringify({ payload: 1, fn: { type: 'function', data: '() => process.exit(1)' }, arr: [{ type: 'function', data: 'x' }] }));
    const back = decodeMessage(evil);
    assert.equal('fn' in back, false);
    assert.deepEqual(back.arr, [undefined]);
  });

  test('HTTP req/res objects stay behind; string placeholders travel', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.deepEqual(roundTrip({ payload: 1, req: circular, res: { _res: circular } }), { payload: 1 });
    assert.deepEqual(roundTrip({ payload: 1, req: 'REQ:abc', res: 'RES:abc' }), { payload: 1, req: 'REQ:abc', res: 'RES:abc' });
  });

  test('a circular message is a LinkWireError, not a crash', () => {
    const msg: Record<string, unknown> = { payload: {} };
    (msg.payload as Record<string, unknown>).loop = msg;
    assert.throws(() => encodeMessage(msg), (err: Error) => err instanceof LinkWireError && /cannot be sent/.test(err.message));
  });

  test('bad payloads are refused with a reason', () => {
    assert.throws(() => decodeMessage(Buffer.from('not json')), /not JSON/);
    assert.throws(() => decodeMessage(Buffer.from('[1,2]')), /must be a JSON object.*an array/);
    assert.throws(() => decodeMessage(Buffer.from('"text"')), /must be a JSON object.*string/);
    assert.throws(() => decodeMessage(Buffer.from('null')), /must be a JSON object.*null/);
    assert.throws(() => decodeMessage(Buffer.alloc(MAX_INBOUND_BYTES + 1, 32)), /larger than the/);
  });

  test('look-alike data is left alone; __proto__ cannot change a prototype', () => {
    const back = decodeMessage(Buffer.from('{"a":{"type":"Buffer","data":"nope"},"b":{"type":"Map","data":[1]},"c":{"type":"x","data":1},"d":{"type":"bigint","data":"1e3"},"__proto__":{"polluted":true}}'));
    assert.deepEqual(back.a, { type: 'Buffer', data: 'nope' });
    assert.deepEqual(back.b, { type: 'Map', data: [1] });
    assert.deepEqual(back.c, { type: 'x', data: 1 });
    assert.deepEqual(back.d, { type: 'bigint', data: '1e3' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
  });

  test('FlowFuse payloads decode (its wrappers)', () => {
    const ff = '{"payload":{"type":"Buffer","data":[104,105]},"u":{"type":"undefined","data":""},"n":{"type":"bigint","data":"7"},"s":{"type":"Set","data":[1]},"_msgid":"x"}';
    assert.deepEqual(decodeMessage(Buffer.from(ff)), { payload: Buffer.from('hi'), u: undefined, n: 7n, s: new Set([1]), _msgid: 'x' });
  });

  test('annotateReceived adds the sender and topic and keeps the call stack', () => {
    const msg: Record<string, unknown> = { projectLink: { callStack: [{ eventId: 'e' }] } };
    annotateReceived(msg, 'a/b', { _projectID: 'src' });
    assert.deepEqual(msg.projectLink, { callStack: [{ eventId: 'e' }], instanceId: 'src', projectId: 'src', applicationId: '', topic: 'a/b' });
  });
});
