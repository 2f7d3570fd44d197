import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { applyOps, encodeValue, incrementOf, makeOp } from '../../lib/context/ops';
import { ContextValueError } from '../../lib/context/errors';
import { sharedContextSettings } from '../../lib/context/settings';
import { parseConfig } from '../../lib/config';

describe('context operations', () => {
  test('{ $incr: n } is an increment, also when made in a function node sandbox (another realm)', () => {
    assert.equal(incrementOf('k', { $incr: 2 }), 2);
    assert.equal(incrementOf('k', vm.runInNewContext('({ $incr: -1.5 })')), -1.5);
    assert.equal(incrementOf('k', { $incr: 1, other: 1 }), undefined);
    assert.equal(incrementOf('k', [1]), undefined);
    assert.throws(() => incrementOf('k', { $incr: '1' }), ContextValueError);
    assert.throws(() => incrementOf('k', { $incr: Infinity }), /finite number/);
  });

  test('values that cannot be stored give a ContextValueError naming the key and the reason', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    assert.throws(() => encodeValue('loop', loop), { code: 'HA_CONTEXT_VALUE_INVALID', message: /"loop".*circular reference/ });
    assert.throws(() => encodeValue('big', { n: 1n }), /BigInt/);
    assert.throws(() => encodeValue('fn', () => 1), /a function cannot be stored/);
    assert.equal(encodeValue('ok', { a: [1, 'x'] }), '{"a":[1,"x"]}');
  });

  test('nested set, delete and increment on one field, computed from its current JSON', () => {
    const ops = [makeOp('o.list[1]', 'b'), makeOp('o.count', { $incr: 2 }), makeOp('o.count', { $incr: 3 }), makeOp('o.gone', undefined)];
    const result = applyOps('{"gone":1,"count":1,"keep":12345678901234567}', ops);
    assert.deepEqual(JSON.parse(result.json as string), { count: 6, keep: 12345678901234567, list: [undefined, 'b'].map((v) => v ?? null) });
    assert.deepEqual(result.results, [3, 6]);
  });

  test('increment of a missing key starts at 0; of a non-number it is refused', () => {
    assert.deepEqual(applyOps(undefined, [makeOp('c.n', { $incr: 5 })]), { json: '{"n":5}', results: [5] });
    assert.throws(() => applyOps('{"n":"x"}', [makeOp('c.n', { $incr: 1 })]), /holds a string, not a number/);
  });

  test('a nested set under a non-object is refused, naming what is in the way', () => {
    assert.throws(() => applyOps('"text"', [makeOp('s.x', 1)]), { code: 'HA_CONTEXT_VALUE_INVALID', message: /s holds a string/ });
  });

  test('deleting the whole field', () => {
    assert.deepEqual(applyOps('{"a":1}', [makeOp('f', undefined)]), { json: undefined, results: [] });
  });
});

describe('withHA context settings', () => {
  const on = parseConfig({ env: { NR_HA_ENABLED: 'true', NR_HA_INSTANCE: 'shop', NR_HA_REDIS_URL: 'redis://r:6379' }, hostname: 'h' });

  test('ha becomes the default store when the user configured none', () => {
    const { contextStorage } = sharedContextSettings(undefined, on);
    assert.equal(contextStorage?.default, 'ha');
    assert.deepEqual((contextStorage?.ha as { config: object }).config, { redisUrl: 'redis://r:6379', instance: 'shop', replica: 'h' });
  });

  test("the user's stores and default stay; ha is added after them", () => {
    const file = { module: 'localfilesystem' };
    const { contextStorage } = sharedContextSettings({ file }, on);
    assert.deepEqual(Object.keys(contextStorage as object), ['file', 'ha'], 'the first store stays the default');
    assert.equal(contextStorage?.file, file);
  });

  test('nothing without Redis or with HA off', () => {
    assert.deepEqual(sharedContextSettings(undefined, { ...on, redisUrl: undefined }), {});
    assert.deepEqual(sharedContextSettings(undefined, { ...on, enabled: false }), {});
  });
});
