import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getPath, parsePath, setPath } from '../../lib/context/path';
import { ContextKeyError } from '../../lib/context/errors';

// Node-RED's own implementation, the reference (untyped package).
const { util } = require('@node-red/util') as {
  util: {
    normalisePropertyExpression(key: string): unknown[];
    setObjectProperty(obj: object, key: string, value: unknown): boolean;
    getObjectProperty(obj: object, key: string): unknown;
  };
};

// Keys must mean the same in the ha store as in Node-RED's memory store: compare with Node-RED's own parser.
const KEYS = [
  'a', 'a.b', 'a.b.c', 'a.0.b', 'a.1', 'a[0]', 'a[0].b', 'a.b[12][3]', 'a["b.c"]', "a['b']", 'a["x y"].z', '0', 'a.0', 'a.$b', 'a._',
  '', '.a', 'a.', 'a..b', '[0]', 'a[', 'a[b]', 'a[0', 'a]', 'a b', 'a["b"]c', 'a[""]', '"a"', 'a["b\'c"]', 'a.-b',
];

describe('context key paths', () => {
  for (const key of KEYS) {
    test(`${JSON.stringify(key)} parses like Node-RED`, () => {
      let expected: unknown;
      try {
        expected = util.normalisePropertyExpression(key);
      } catch {
        expected = 'error';
      }
      let actual: unknown;
      try {
        actual = parsePath(key);
      } catch (err) {
        assert.ok(err instanceof ContextKeyError, String(err));
        assert.match((err as Error).message, new RegExp(`Invalid context key ${JSON.stringify(JSON.stringify(key)).slice(1, -1).replace(/[[\]().$]/g, '\\$&')}`));
        actual = 'error';
      }
      assert.deepEqual(actual, expected);
    });
  }

  test('a key referring to msg is refused with a clear reason', () => {
    assert.throws(() => parsePath('a[msg.topic]'), /cannot refer to msg/);
  });

  test('setPath and getPath follow setObjectProperty / getObjectProperty', () => {
    const cases: Array<[string, unknown]> = [['a.b.c', 1], ['a.list[2].x', 'y'], ['a.b', undefined], ['n[1]', true], ['n[0]', undefined]];
    const ours: Record<string, unknown> = { a: { b: { c: 0 } }, n: [1, 2, 3] };
    const theirs = structuredClone(ours);
    for (const [key, value] of cases) {
      const parts = parsePath(key);
      setPath(ours, parts, value);
      util.setObjectProperty(theirs, key, value);
      assert.deepEqual(ours, theirs, key);
      assert.deepEqual(getPath(ours, parts), util.getObjectProperty(theirs, key), key);
    }
  });

  test('setPath does not create properties under a non-object', () => {
    const data: Record<string, unknown> = { s: 'text' };
    assert.equal(setPath(data, parsePath('s.x'), 1), false);
    assert.deepEqual(data, { s: 'text' });
  });
});
