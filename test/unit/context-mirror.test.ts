import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, Mirror } from '../../lib/context/mirror';

const snapshot = (data: Record<string, Record<string, string>>) =>
  new Map(Object.entries(data).map(([scope, fields]) => [scope, new Map(Object.entries(fields))]));
const change = (seq: number, scope: string, field: string, json: string | null) => ({ seq, scope, changes: [[field, json]] as Array<[string, string | null]> });

function liveMirror(): Mirror {
  const mirror = new Mirror();
  mirror.beginLoad();
  assert.equal(mirror.finishLoad(10, snapshot({ global: { a: '1' } }), 0), 'ok');
  return mirror;
}

describe('context mirror (what sync get reads)', () => {
  test('decodes the messages the write script publishes', () => {
    assert.deepEqual(decodeMessage('["7","global",["a","1","b",false]]'), { seq: 7, scope: 'global', changes: [['a', '1'], ['b', null]] });
    assert.deepEqual(decodeMessage('["8","n1:f1","drop"]'), { seq: 8, scope: 'n1:f1', changes: 'drop' });
    assert.equal(decodeMessage('not json'), undefined);
    assert.equal(decodeMessage('["x","g",[]]'), undefined);
  });

  test('changes published while the snapshot loads are applied after it, older ones skipped', () => {
    const mirror = new Mirror();
    mirror.beginLoad();
    mirror.receive(change(10, 'global', 'a', '"old"'));
    mirror.receive(change(11, 'global', 'a', '"new"'));
    assert.equal(mirror.finishLoad(10, snapshot({ global: { a: '"snap"' } }), 0), 'ok');
    assert.equal(mirror.read('global', 'a'), '"new"');
  });

  test('a gap in the sequence (lost messages, restarted Redis) asks for a resync and stops serving', () => {
    const mirror = liveMirror();
    assert.equal(mirror.receive(change(11, 'global', 'a', '2')), 'ok');
    assert.equal(mirror.receive(change(13, 'global', 'a', '4')), 'resync');
    assert.match(mirror.unfreshReason(1, 1000) ?? '', /not connected/);
    const restarted = liveMirror();
    assert.equal(restarted.receive(change(1, 'global', 'a', '2')), 'resync', 'a counter that went backwards');
  });

  test('fresh only while a ping sent within the bound was answered', () => {
    const mirror = liveMirror();
    assert.equal(mirror.unfreshReason(500, 1000), undefined, 'the snapshot itself confirms up to its request');
    assert.match(mirror.unfreshReason(1500, 1000) ?? '', /no confirmation from Redis for more than 1000 ms/);
    mirror.confirm(1400);
    assert.equal(mirror.unfreshReason(1500, 1000), undefined);
    mirror.markDown();
    mirror.confirm(1600);
    assert.ok(mirror.unfreshReason(1601, 1000), 'a confirmation while down does not count');
  });

  test('read-your-writes: a local write shows at once and gives way to Redis order once applied', () => {
    const mirror = liveMirror();
    const id = mirror.beginWrite('global', 'a', '"mine"');
    mirror.receive(change(11, 'global', 'a', '"theirs-before-mine"'));
    assert.equal(mirror.read('global', 'a'), '"mine"', 'an older change from another replica does not hide the own write');
    mirror.settle('global', 'a', id, 12, '"mine"');
    assert.equal(mirror.read('global', 'a'), '"mine"');
    mirror.receive(change(12, 'global', 'a', '"mine"'));
    mirror.receive(change(13, 'global', 'a', '"theirs-after"'));
    assert.equal(mirror.read('global', 'a'), '"theirs-after"');
  });

  test('a failed local write disappears; deletes hide the key', () => {
    const mirror = liveMirror();
    const id = mirror.beginWrite('global', 'b', '5');
    assert.deepEqual(mirror.fields('global').sort(), ['a', 'b']);
    mirror.settle('global', 'b', id);
    assert.equal(mirror.read('global', 'b'), undefined);
    mirror.beginWrite('global', 'a', undefined);
    assert.equal(mirror.read('global', 'a'), undefined);
    assert.deepEqual(mirror.fields('global'), []);
  });

  test('dropping a scope removes all its keys', () => {
    const mirror = liveMirror();
    mirror.receive({ seq: 11, scope: 'global', changes: 'drop' });
    assert.equal(mirror.read('global', 'a'), undefined);
    assert.deepEqual(mirror.scopes(), []);
  });
});
