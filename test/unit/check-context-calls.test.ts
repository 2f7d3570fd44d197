import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findContextCalls } from '../../lib/check/context-calls';

const calls = (code: string) => findContextCalls(code).map((c) => `${c.scope}.${c.method}:${c.store ?? '-'}`);

describe('findContextCalls (function node code)', () => {
  test('reads the store argument of get, set and keys', () => {
    assert.deepEqual(calls(`
      const a = flow.get("a");
      const b = flow.get('b', 'memory');
      flow.get(['x', 'y'], "file", (err, x, y) => node.send(msg));
      global.set('c', { v: [1, 2] }, 'ha');
      global.set('d', f(1, 2));
      context.keys('memory', cb);
      context.keys();
    `), ['flow.get:-', 'flow.get:memory', 'flow.get:file', 'global.set:ha', 'global.set:-', 'context.keys:memory', 'context.keys:-']);
  });

  test('a callback in the store position means the default store', () => {
    assert.deepEqual(calls('flow.get("a", function (err, v) { node.send(v) });'), ['flow.get:-']);
  });

  test('the older context.flow / context.global form', () => {
    assert.deepEqual(calls('context.flow.set("a", 1, "memory"); context.global.get("b")'), ['flow.set:memory', 'global.get:-']);
  });

  test('ignores comments, strings, regular expressions and other objects\' get/set', () => {
    assert.deepEqual(calls([
      '// flow.get("x", "memory")',
      '/* global.set("y", 1) */',
      'const s = "flow.get(\'z\')" + \'global.set("w")\' + `context.keys()`;',
      'const r = /flow.get\\(/;',
      'msg.flow.get("a"); myflow.get("b"); map.set("c", 1);',
    ].join('\n')), []);
  });

  test('finds calls inside template literal expressions, not in their text', () => {
    assert.deepEqual(calls('msg.payload = `flow.get("no") ${flow.get("n", "memory")} and ${ { a: global.get(`k${1}`) }.a } flow.set("no")`;'),
      ['flow.get:memory', 'global.get:-']);
  });

  test('survives unfinished code', () => {
    assert.deepEqual(calls('flow.get("a", "memory"'), ['flow.get:memory']);
    assert.deepEqual(calls('const s = "unterminated\nflow.set("b", 1)'), ['flow.set:-']);
  });
});
