import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  broadcastTopic, directTopic, filterMatches, parseLinkTopic, responseTopic, sharedFilter, subTopicProblem, unshared,
} from '../../lib/link/topics';
import { LinkConfigError } from '../../lib/link/errors';

describe('link topics', () => {
  test('direct, broadcast and reply topics follow the FlowFuse scheme', () => {
    assert.equal(directTopic('t1', 'orders', 'a/b'), 'ff/v1/t1/p/orders/in/a/b');
    assert.equal(broadcastTopic('t1', 'orders', 'news'), 'ff/v1/t1/p/orders/out/news');
    assert.equal(broadcastTopic('t1', 'all', 'news'), 'ff/v1/t1/p/+/out/news');
    assert.equal(responseTopic('t1', 'orders', 'res', 'q'), 'ff/v1/t1/p/orders/res/q');
    assert.equal(responseTopic('t1', 'orders', 'res-1a2b3c4d', 'q'), 'ff/v1/t1/p/orders/res-1a2b3c4d/q');
  });

  test('shared subscriptions carry the instance as group; unshared strips it', () => {
    const filter = sharedFilter('orders', 'ff/v1/t1/p/orders/in/a');
    assert.equal(filter, '$share/orders/ff/v1/t1/p/orders/in/a');
    assert.equal(unshared(filter), 'ff/v1/t1/p/orders/in/a');
    assert.equal(unshared('ff/v1/t1/p/x/in/a'), 'ff/v1/t1/p/x/in/a');
  });

  for (const [topic, problem] of [
    ['', /empty/],
    ['a//b', /empty level/],
    ['/a', /empty level/],
    ['a/', /empty level/],
    ['a/+/b', /not allowed/],
    ['a/#', /not allowed/],
    ['$SYS/x', /not allowed/],
    ['with space', /not allowed/],
  ] as const) {
    test(`sub-topic ${JSON.stringify(topic)} is refused with a reason`, () => {
      assert.match(subTopicProblem(topic) ?? '', problem);
      assert.throws(() => directTopic('t1', 'orders', topic), (err: Error) => err instanceof LinkConfigError && problem.test(err.message));
    });
  }

  test('bad ids and reply levels are refused, naming what is wrong', () => {
    assert.throws(() => directTopic('t1', '', 'a'), /target instance must be 1-64 characters/);
    assert.throws(() => directTopic('t1', 'a/b', 'a'), /target instance .* got "a\/b"/);
    assert.throws(() => directTopic('bad team', 'x', 'a'), /team must be/);
    assert.throws(() => responseTopic('t1', 'x', 'res/evil', 'a'), /reply level/);
    assert.throws(() => responseTopic('t1', 'x', '+', 'a'), /reply level/);
  });

  test('parseLinkTopic reads every kind and rejects others', () => {
    assert.deepEqual(parseLinkTopic('ff/v1/t1/p/orders/in/a/b'), { team: 't1', instance: 'orders', kind: 'in', level: 'in', subTopic: 'a/b' });
    assert.deepEqual(parseLinkTopic('ff/v1/t1/p/src/out/n'), { team: 't1', instance: 'src', kind: 'out', level: 'out', subTopic: 'n' });
    assert.equal(parseLinkTopic('ff/v1/t1/p/src/res-ab12/n')?.kind, 'res');
    assert.equal(parseLinkTopic('ff/v1/t1/p/src/other/n'), undefined);
    assert.equal(parseLinkTopic('ff/v2/t1/p/src/in/n'), undefined);
    assert.equal(parseLinkTopic('ff/v1/t1/p/src/in'), undefined);
  });

  test('filter matching handles +, # and shared prefixes', () => {
    assert.ok(filterMatches('ff/v1/t/p/+/out/n', 'ff/v1/t/p/a/out/n'));
    assert.ok(!filterMatches('ff/v1/t/p/+/out/n', 'ff/v1/t/p/a/out/n/x'));
    assert.ok(filterMatches('$share/g/ff/v1/t/p/a/in/x', 'ff/v1/t/p/a/in/x'));
    assert.ok(filterMatches('a/#', 'a/b/c'));
    assert.ok(!filterMatches('a/b', 'a/c'));
  });
});
