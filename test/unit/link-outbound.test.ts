import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OUTBOUND, OutboundQueue, Publisher, reasonLabel } from '../../lib/link/outbound';
import { LinkClosedError, LinkDeadlineError, LinkPublishRefusedError, LinkQueueFullError } from '../../lib/link/errors';

/** A broker stand-in that records publishes and lets the test acknowledge them. */
class FakeBroker implements Publisher {
  readonly sent: Array<{ topic: string; payload: string; ack(code?: number): void }> = [];
  inFlight = 0;
  maxInFlight = 0;
  publish(topic: string, payload: Buffer, _p: Record<string, unknown>, callback: (err?: Error & { code?: unknown }) => void): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.sent.push({
      topic,
      payload: payload.toString(),
      ack: (code?: number) => {
        this.inFlight--;
        callback(code ? Object.assign(new Error(`refused ${code}`), { code }) : undefined);
      },
    });
  }
  ackAll(code?: number) {
    const open = this.sent.filter((s) => !(s as { done?: boolean }).done);
    for (const s of open) {
      (s as { done?: boolean }).done = true;
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

  test('reason labels', () => {
    assert.equal(reasonLabel(0x97), 'quota_exceeded');
    assert.equal(reasonLabel(0x95), 'packet_too_large');
    assert.equal(reasonLabel(undefined), 'connection');
  });
});
