import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OUTBOUND, OutboundQueue, Publisher, reasonLabel } from '../../lib/link/outbound';
import { LinkClosedError, LinkDeadlineError, LinkNoSubscribersError, LinkPublishRefusedError, LinkQueueFullError } from '../../lib/link/errors';

/** A broker stand-in that records publishes and lets the test acknowledge them. */
class FakeBroker implements Publisher {
  readonly sent: Array<{ topic: string; payload: string; ack(code?: number): void; done?: boolean }> = [];
  inFlight = 0;
  maxInFlight = 0;
  publish(topic: string, payload: Buffer, _p: Record<string, unknown>, callback: (err?: Error & { code?: unknown }, reasonCode?: number) => void): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.sent.push({
      topic,
      payload: payload.toString(),
      // Codes below 0x80 are successes, as in a PUBACK.
      ack: (code?: number) => {
        this.inFlight--;
        if (code && code >= 0x80) callback(Object.assign(new Error(`refused ${code}`), { code }));
        else callback(undefined, code);
      },
    });
  }
  ackAll(code?: number) {
    for (const s of this.sent.filter((s) => !s.done)) {
      s.done = true;
      s.ack(code);
    }
  }
}

const opts = (over: Partial<typeof DEFAULT_OUTBOUND> = {}) => ({ ...DEFAULT_OUTBOUND, retryBaseMs: 1, retryMaxMs: 5, ...over });
const tick = () => new Promise((resolve) => setTimeout(resolve, 15));

describe('outbound queue', () => {
  test('never more unacknowledged publishes than the broker Receive Maximum', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts({ window: 100 }));
    queue.setConnected(true, 5);
    const all = Array.from({ length: 50 }, (_, i) => queue.send('t', Buffer.from(String(i)), {}));
    while (broker.sent.length < 50) {
      assert.ok(broker.inFlight <= 5, `in flight ${broker.inFlight}`);
      broker.ackAll();
      await tick();
    }
    broker.ackAll();
    await Promise.all(all);
    assert.equal(broker.maxInFlight, 5);
    assert.deepEqual(broker.sent.map((s) => Number(s.payload)), [...Array(50).keys()], 'in order');
    assert.equal(queue.depth, 0);
  });

  test('messages wait while disconnected and go out in order on reconnect', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts());
    const all = [1, 2, 3].map((i) => queue.send('t', Buffer.from(String(i)), {}));
    await tick();
    assert.equal(broker.sent.length, 0);
    assert.equal(queue.depth, 3);
    queue.setConnected(true);
    broker.ackAll();
    await Promise.all(all);
    assert.deepEqual(broker.sent.map((s) => s.payload), ['1', '2', '3']);
  });

  test('a transient refusal (quota exceeded) is retried, not dropped', async () => {
    const broker = new FakeBroker();
    const retried: string[] = [];
    const queue = new OutboundQueue(broker, opts(), { retry: (r) => retried.push(r) });
    queue.setConnected(true);
    const sent = queue.send('t', Buffer.from('x'), {});
    await tick();
    broker.sent[0].ack(0x97);
    await tick();
    assert.equal(broker.sent.length, 2, 'sent again');
    broker.sent[1].ack();
    await sent;
    assert.deepEqual(retried, ['quota_exceeded']);
  });

  test('a permanent refusal fails at once with the reason', async () => {
    const broker = new FakeBroker();
    const failures: string[] = [];
    const queue = new OutboundQueue(broker, opts(), { failure: (r) => failures.push(r) });
    queue.setConnected(true);
    const sent = queue.send('t', Buffer.from('x'), {});
    await tick();
    broker.sent[0].ack(0x87);
    await assert.rejects(sent, (err: Error) => err instanceof LinkPublishRefusedError && /Not authorized \(135\)/.test(err.message));
    assert.deepEqual(failures, ['not_authorized']);
    assert.equal(broker.sent.length, 1, 'not retried');
  });

  test('a full queue (messages or bytes) refuses the message with a named error', async () => {
    const broker = new FakeBroker();
    const byCount = new OutboundQueue(broker, opts({ maxMessages: 2 }));
    const held = [byCount.send('t', Buffer.from('a'), {}), byCount.send('t', Buffer.from('b'), {})];
    await assert.rejects(byCount.send('t', Buffer.from('c'), {}), (err: Error) => err instanceof LinkQueueFullError && /2 messages/.test(err.message));
    const byBytes = new OutboundQueue(broker, opts({ maxBytes: 10 }));
    held.push(byBytes.send('t', Buffer.alloc(8), {}));
    await assert.rejects(byBytes.send('t', Buffer.alloc(3), {}), (err: Error) => err instanceof LinkQueueFullError && /bytes/.test(err.message));
    byCount.close('test over');
    byBytes.close('test over');
    for (const h of held) await assert.rejects(h, LinkClosedError);
  });

  test('a message waiting past its deadline is reported, not kept forever', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts({ deadlineMs: 100 }));
    const waiting = queue.send('t', Buffer.from('x'), {});
    // The sweep timer does not hold the process open; this test must.
    const keepAlive = setTimeout(() => undefined, 5000);
    await assert.rejects(waiting, (err: Error) => err instanceof LinkDeadlineError && /waited more than/.test(err.message));
    assert.equal(queue.depth, 0);
    clearTimeout(keepAlive);
  });

  test('close fails what is still held', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts());
    const held = queue.send('t', Buffer.from('x'), {});
    queue.close('shutting down');
    await assert.rejects(held, LinkClosedError);
    await assert.rejects(queue.send('t', Buffer.from('y'), {}), LinkClosedError);
  });

  test('a direct message nobody was subscribed to waits, in order, until a subscriber takes one; other topics keep flowing', async () => {
    const broker = new FakeBroker();
    const retried: string[] = [];
    const queue = new OutboundQueue(broker, opts(), { retry: (r) => retried.push(r) });
    queue.setConnected(true);
    const direct = { awaitSubscriber: true };
    const settled: string[] = [];
    const track = (p: Promise<void>, name: string) => p.then(() => settled.push(name));
    const first = [1, 2, 3].map((i) => track(queue.send('dst', Buffer.from(`d${i}`), {}, direct), `d${i}`));
    await tick();
    broker.ackAll(0x10);
    await tick();
    assert.deepEqual(settled, [], 'not counted as sent');
    assert.equal(queue.depth, 3);
    // Meanwhile a newer message to the same topic joins the line; another topic goes straight out.
    const later = track(queue.send('dst', Buffer.from('d4'), {}, direct), 'd4');
    const other = track(queue.send('elsewhere', Buffer.from('e1'), {}, direct), 'e1');
    for (let i = 0; i < 3; i++) {
      await tick();
      // Only one probe at a time goes to the parked topic, the oldest message.
      const open = broker.sent.filter((s) => !s.done);
      assert.ok(open.filter((s) => s.topic === 'dst').length <= 1, `probes in flight: ${open.map((s) => s.payload)}`);
      for (const s of open) {
        s.done = true;
        s.ack(s.topic === 'dst' ? 0x10 : 0);
      }
    }
    await other;
    assert.deepEqual(settled, ['e1']);
    assert.ok(broker.sent.filter((s) => s.topic === 'dst').slice(3).every((s) => s.payload === 'd1'), 'the oldest message probes');
    // A subscriber appears: the probe gets through and the rest follow in order.
    const mark = broker.sent.length;
    while (settled.length < 5) {
      await tick();
      broker.ackAll();
    }
    await Promise.all([...first, later]);
    assert.deepEqual(broker.sent.slice(mark).map((s) => s.payload), ['d1', 'd2', 'd3', 'd4']);
    assert.deepEqual(settled, ['e1', 'd1', 'd2', 'd3', 'd4']);
    assert.ok(retried.length >= 5 && retried.every((r) => r === 'no_matching_subscribers'), `retries: ${retried}`);
    assert.equal(queue.depth, 0);
  });

  test('a broadcast nobody listens to is sent, not held', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts());
    queue.setConnected(true);
    const sent = queue.send('ff/v1/t/p/src/out/news', Buffer.from('x'), {}, { awaitSubscriber: false });
    await tick();
    broker.ackAll(0x10);
    await sent;
    assert.equal(broker.sent.length, 1);
  });

  test('a direct message still unheard at its deadline fails naming the topic', async () => {
    const broker = new FakeBroker();
    const failures: string[] = [];
    const queue = new OutboundQueue(broker, opts({ deadlineMs: 150 }), { failure: (r) => failures.push(r) });
    queue.setConnected(true);
    const keepAlive = setInterval(() => broker.ackAll(0x10), 5);
    try {
      const first = queue.send('ff/v1/t/p/dst/in/work', Buffer.from('x'), {}, { awaitSubscriber: true });
      await tick();
      // A later message waits behind the first without being sent: its node hears the same reason.
      const second = queue.send('ff/v1/t/p/dst/in/work', Buffer.from('x2'), {}, { awaitSubscriber: true });
      for (const sent of [first, second]) {
        await assert.rejects(sent,
          (err: Error) => err instanceof LinkNoSubscribersError && (err as LinkNoSubscribersError & { code: string }).code === 'HA_LINK_NO_SUBSCRIBERS'
            && /ff\/v1\/t\/p\/dst\/in\/work/.test(err.message) && /nothing is subscribed/.test(err.message));
      }
    } finally {
      clearInterval(keepAlive);
    }
    assert.deepEqual(failures, ['no_matching_subscribers', 'no_matching_subscribers']);
    assert.equal(queue.depth, 0);
    // The topic is not stuck: a later message goes out as soon as someone listens.
    const next = queue.send('ff/v1/t/p/dst/in/work', Buffer.from('y'), {}, { awaitSubscriber: true });
    await tick();
    broker.ackAll();
    await next;
  });

  test('a message with its own shorter deadline (a link call) is not held past it, and not sent after it', async () => {
    const broker = new FakeBroker();
    const queue = new OutboundQueue(broker, opts());
    queue.setConnected(true);
    const keepAlive = setInterval(() => broker.ackAll(0x10), 5);
    const started = Date.now();
    try {
      await assert.rejects(queue.send('dst', Buffer.from('call'), {}, { awaitSubscriber: true, deadlineMs: 50 }),
        (err: Error) => err instanceof LinkNoSubscribersError && /within 0.05 s/.test(err.message));
    } finally {
      clearInterval(keepAlive);
    }
    assert.ok(Date.now() - started < 5000, 'not held for the queue deadline of 60 s');
    await tick();
    const sentBefore = broker.sent.length;
    broker.ackAll();
    await tick();
    await tick();
    assert.equal(broker.sent.length, sentBefore, 'not probed again once its node heard');
    assert.equal(queue.depth, 0);
  });

  test('reason labels', () => {
    assert.equal(reasonLabel(0x97), 'quota_exceeded');
    assert.equal(reasonLabel(0x95), 'packet_too_large');
    assert.equal(reasonLabel(undefined), 'connection');
    assert.equal(reasonLabel(0x10), 'no_matching_subscribers');
  });
});
