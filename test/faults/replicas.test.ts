/**
 * Replicas failing under load: 3 replicas behind `node-red-ha start` (which sends requests only to
 * ready replicas and restarts a replica that exits), a steady HTTP load through its port and a
 * QoS 1 project link stream from another MQTT client that the replicas acknowledge.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpLoad, LinkStream, tally } from '../harness/load';
import { MosquittoServer } from '../harness/mosquitto';
import { REPO_ROOT } from '../harness/package';
import { freePort } from '../harness/ports';
import { Proc } from '../harness/process';
import { RedisServer } from '../harness/redis';
import { cleanEnv, Figures, seconds } from './support';

const CLI = path.join(REPO_ROOT, 'dist', 'bin', 'node-red-ha.js');
const INSTANCE = 'faults';
const REPLICAS = ['faults-1', 'faults-2', 'faults-3'];
const STREAM_TOPIC = `ff/v1/default/p/${INSTANCE}/in/stream`;
const ACK_TOPIC = `ff/v1/default/p/${INSTANCE}/out/ack`;

/** GET /work names the replica that answered; link messages on `stream` are acknowledged on the `ack` broadcast. */
const FLOWS = [
  { id: 'f', type: 'tab', label: 'faults' },
  { id: 'f-http', z: 'f', type: 'http in', url: '/work', method: 'get', wires: [['f-fn']] },
  { id: 'f-fn', z: 'f', type: 'function', outputs: 1, wires: [['f-res']], func: 'msg.payload = { replica: env.get("NR_HA_REPLICA") }; return msg;' },
  { id: 'f-res', z: 'f', type: 'http response', wires: [] },
  { id: 'f-in', z: 'f', type: 'project link in', name: '', project: '', broadcast: false, topic: 'stream', wires: [['f-ack']] },
  { id: 'f-ack', z: 'f', type: 'project link out', name: '', mode: 'link', broadcast: true, project: '', topic: 'ack', wires: [] },
];

describe('replicas failing under load (node-red-ha start, 3 replicas)', () => {
  const figures = new Figures('replicas');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-faults-replicas-'));
  let redis: RedisServer;
  let broker: MosquittoServer;
  let launcher: Proc;
  let port: number;

  const subscribed = (replica: string) => new RegExp(`\\[${replica}\\].*Project link subscribed to \\$share/${INSTANCE}/${STREAM_TOPIC.replace(/\//g, '\\/')}$`);
  /** The pid of the process filling `replica`'s slot right now. */
  const pidOf = (replica: string): number => {
    const lines = launcher.lines.filter((l) => l.includes(`[launcher] replica ${replica} started pid`));
    return Number(/pid (\d+)/.exec(lines[lines.length - 1])![1]);
  };
  /** Waits for `pattern` in the launcher's output after line `from`; resolves with the time it was seen. */
  const seen = async (pattern: RegExp, from: number, timeoutMs = 60_000) => {
    await launcher.waitForLine(pattern, timeoutMs, from);
    return Date.now();
  };

  before(async () => {
    const flowsFile = path.join(dir, 'flows.json');
    fs.writeFileSync(flowsFile, JSON.stringify(FLOWS));
    [redis, broker, port] = await Promise.all([RedisServer.start(), MosquittoServer.start(), freePort()]);
    launcher = new Proc('launcher', process.execPath,
      [CLI, 'start', flowsFile, '--replicas', '3', '--port', String(port), '--user-dir', path.join(dir, 'run'), '--instance', INSTANCE, '--stop-timeout', '20'],
      { cwd: REPO_ROOT, env: cleanEnv({ NR_HA_REDIS_URL: redis.url, NR_HA_MQTT_URL: broker.url }) });
    await launcher.waitForLine(/\[launcher\] all 3 replicas ready/, 120_000);
    await Promise.all(REPLICAS.map((r) => launcher.waitForLine(subscribed(r), 60_000)));
  });
  after(async () => {
    figures.print();
    await launcher?.stop('SIGTERM', 30_000);
    await Promise.all([redis?.close(), broker?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fault` while the HTTP load and the link stream flow, then lets the stream settle. */
  async function underLoad(fault: () => Promise<void>) {
    const load = new HttpLoad({ port, path: '/work', ratePerSecond: 40, maxDurationMs: 150_000 }).start();
    const stream = await LinkStream.connect({ brokerUrl: broker.url, sendTopic: STREAM_TOPIC, ackTopic: ACK_TOPIC, ratePerSecond: 100, maxMessages: 20_000 });
    stream.start();
    try {
      await waitUntil('load and stream flowing', () => load.results.length >= 60 && stream.acked.size >= 150, 30_000);
      await fault();
      // Keep the load on for a little while after the fault, so recovery is measured under it too.
      const mark = load.results.length;
      await waitUntil('load after the fault', () => load.results.length >= mark + 60, 30_000);
    } finally {
      stream.stop();
      await load.stop();
    }
    await stream.settle(3000, 20_000);
    await stream.close();
    return { load, stream };
  }

  test('kill -9 of one replica: no request fails, at most its in-flight link window is lost, it comes back', async () => {
    const victim = 'faults-2';
    const pid = pidOf(victim);
    let killedAt = 0;
    let readyAt = 0;
    let subscribedAt = 0;
    let answeredAt = 0;
    const { load, stream } = await underLoad(async () => {
      const mark = launcher.lines.length;
      killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await seen(new RegExp(`replica ${victim} \\(pid ${pid}\\) exited with signal SIGKILL`), mark, 10_000);
      [readyAt, subscribedAt] = await Promise.all([seen(new RegExp(`\\[launcher\\] replica ${victim} ready`), mark), seen(subscribed(victim), mark)]);
    });
    answeredAt = load.ok.find((r) => r.at >= readyAt && JSON.parse(r.body).replica === victim)?.at ?? 0;

    const lost = stream.missing();
    const lostNear = lost.map((id) => nearestEvent(stream.sentAt.get(id)!, [{ at: killedAt, what: 'kill' }, { at: subscribedAt, what: 'subscribed again' }]));
    figures.add('kill -9 of 1 of 3 replicas', 'HTTP requests (failed)', `${load.results.length} (${load.failed.length})`);
    figures.add('kill -9 of 1 of 3 replicas', 'link messages QoS 1 sent / lost / handled twice', `${stream.sent} / ${lost.length} / ${stream.duplicates().length}`);
    figures.add('kill -9 of 1 of 3 replicas', 'lost messages were acknowledged by the broker (ms from the nearest event)', describeLoss(lostNear));
    figures.add('kill -9 of 1 of 3 replicas', 'kill -> replica ready again', seconds(readyAt - killedAt));
    figures.add('kill -9 of 1 of 3 replicas', 'kill -> its link subscription back', seconds(subscribedAt - killedAt));
    figures.add('kill -9 of 1 of 3 replicas', 'kill -> first request it answered', answeredAt ? seconds(answeredAt - killedAt) : 'none in the window');

    assert.equal(load.failed.length, 0, `failed requests: ${JSON.stringify(tally(load.results))}; first: ${load.failed.slice(0, 2).map((r) => r.body).join(' | ')}`);
    assert.ok(load.ok.some((r) => r.at >= readyAt && JSON.parse(r.body).replica === victim), 'the restarted replica answers requests again');
    assert.deepEqual(stream.publishErrors, []);
    // The broker does not hand a dead shared subscriber's unacknowledged messages to the others:
    // what the killed replica held (the broker's in-flight window to it, acknowledgements it had
    // not sent yet) is lost, nothing else. Also a known gap: what reaches the restarted replica
    // while its flows are still being created.
    assert.ok(lostNear.every((e) => e.ms >= -1000 && e.ms <= 1000), `every lost message was in flight at the kill or the re-subscription: ${describeLoss(lostNear)}`);
  });

  test('SIGTERM rolling restart of every replica: zero failed requests, zero lost link messages', async () => {
    const backIn: string[] = [];
    const stoppedAt: number[] = [];
    const subscribedAgainAt: number[] = [];
    const started = Date.now();
    const { load, stream } = await underLoad(async () => {
      for (const replica of REPLICAS) {
        const pid = pidOf(replica);
        const mark = launcher.lines.length;
        stoppedAt.push(Date.now());
        process.kill(pid, 'SIGTERM');
        await seen(new RegExp(`replica ${replica} \\(pid ${pid}\\) exited with code 0`), mark, 30_000);
        const [readyAt, subscribedAt] = await Promise.all([seen(new RegExp(`\\[launcher\\] replica ${replica} ready`), mark), seen(subscribed(replica), mark)]);
        subscribedAgainAt.push(subscribedAt);
        backIn.push(`${replica} ${seconds(Math.max(readyAt, subscribedAt) - stoppedAt[stoppedAt.length - 1])}`);
      }
    });
    const lost = stream.missing();
    const scenario = 'SIGTERM rolling restart of 3 replicas';
    figures.add(scenario, 'HTTP requests (failed)', `${load.results.length} (${load.failed.length}: ${JSON.stringify(tally(load.failed))})`);
    const sigterms = stoppedAt.map((at) => ({ at, what: 'SIGTERM' }));
    const failedNear = load.failed.map((r) => nearestEvent(r.at, sigterms).ms);
    figures.add(scenario, 'failed requests were sent (ms from the nearest SIGTERM)', failedNear.length ? `${Math.min(...failedNear)} .. ${Math.max(...failedNear)}` : 'none failed');
    figures.add(scenario, 'link messages QoS 1 sent / lost / handled twice', `${stream.sent} / ${lost.length} / ${stream.duplicates().length}`);
    const events = [...stoppedAt.map((at) => ({ at, what: 'SIGTERM' })), ...subscribedAgainAt.map((at) => ({ at, what: 'subscribed again' }))];
    const lostNear = lost.map((id) => nearestEvent(stream.sentAt.get(id)!, events));
    figures.add(scenario, 'lost messages were acknowledged by the broker (ms from the nearest event)', describeLoss(lostNear));
    figures.add(scenario, 'messages handled twice were sent (ms from the nearest SIGTERM)', describeLoss(stream.duplicates().map((id) => nearestEvent(stream.sentAt.get(id)!, sigterms))));
    figures.add(scenario, 'SIGTERM -> replica ready and subscribed again', backIn.join(', '));
    figures.add(scenario, 'whole rolling restart under load', seconds(Date.now() - started));

    assert.deepEqual(stream.publishErrors, []);
    // Link messages are QoS 1 towards subscribers (at least once): a replica that stops can have
    // handled a message whose acknowledgement the broker never got. Allowed only at a SIGTERM.
    const twiceNear = stream.duplicates().map((id) => nearestEvent(stream.sentAt.get(id)!, sigterms));
    assert.ok(twiceNear.every((e) => e.ms >= -1000 && e.ms <= 2000), `link messages handled twice away from a SIGTERM: ${describeLoss(twiceNear)}`);
    // A replica leaves the balancer's rotation at SIGTERM and keeps serving until the balancer has
    // probed it, so not one request fails (before that grace, Node-RED's 404s leaked through).
    assert.deepEqual(load.failed.map((r) => `${r.status} ${r.body}`), [], `failed requests (${failedNear.join(', ')} ms from a SIGTERM)`);
    // A replica unsubscribes at SIGTERM and finishes what the broker already gave it before its
    // flows stop, and subscribes only once its flows have started: nothing is lost.
    assert.deepEqual(lost, [], `link messages lost: ${describeLoss(lostNear)}`);
  });
});

interface Near { ms: number; what: string }

/** How far `at` is from the nearest of `events` (negative: before it). */
function nearestEvent(at: number, events: Array<{ at: number; what: string }>): Near {
  const best = events.reduce((a, b) => (Math.abs(at - b.at) < Math.abs(at - a.at) ? b : a));
  return { ms: at - best.at, what: best.what };
}

/** "2 at 38 ms after SIGTERM, 1 at -5 ms after kill", or "none lost". */
function describeLoss(near: Near[]): string {
  if (!near.length) return 'none lost';
  const groups = new Map<string, number>();
  for (const e of near) groups.set(`${e.ms} ms after ${e.what}`, (groups.get(`${e.ms} ms after ${e.what}`) ?? 0) + 1);
  return [...groups].map(([where, n]) => `${n} at ${where}`).join(', ');
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
