import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { MosquittoServer } from '../harness/mosquitto';
import { REPO_ROOT } from '../harness/package';
import { freePort } from '../harness/ports';
import { Proc } from '../harness/process';
import { RedisServer } from '../harness/redis';

const CLI = path.join(REPO_ROOT, 'dist', 'bin', 'node-red-ha.js');
const FLOWS = path.join(REPO_ROOT, 'examples', 'http-counter', 'flows.json');

/** The test runner's own NR_HA_* settings never leak into the launcher. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NR_HA_') || key.startsWith('NR_HA_TEST_')));
  return { ...env, ...extra };
}

interface Answer { status: number; replica?: string; hits?: number; error?: string }

/** One GET on a new connection (no keep-alive), answered or failed, never thrown. */
function getOnce(port: number, urlPath: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => {
        let json: { replica?: string; hits?: number } = {};
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON: kept as the error text below
        }
        resolve({ status: res.statusCode ?? 0, replica: json.replica, hits: json.hits, error: res.statusCode === 200 ? undefined : body });
      });
      res.on('error', (err) => resolve({ status: 0, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
  });
}

/** Requests with `concurrency` in flight until `stop()`; every answer is kept. */
function keepRequesting(port: number, concurrency: number) {
  const answers: Answer[] = [];
  let running = true;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) answers.push(await getOnce(port, '/counter'));
  });
  return { answers, stop: async () => { running = false; await Promise.all(workers); } };
}

async function pollUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every pid the launcher reported starting (replicas, private servers) and its own. */
function reportedPids(proc: Proc): number[] {
  return proc.lines.filter((line) => line.includes('[launcher]'))
    .flatMap((line) => [...line.matchAll(/\bpid (\d+)/g)].map((m) => Number(m[1])));
}

function countBy(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) if (a.replica) counts[a.replica] = (counts[a.replica] ?? 0) + 1;
  return counts;
}

describe('node-red-ha start with 3 replicas (Redis and Mosquitto given)', () => {
  let redis: RedisServer;
  let mosquitto: MosquittoServer;
  let launcher: Proc;
  let port: number;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-launcher-'));

  before(async () => {
    [redis, mosquitto, port] = await Promise.all([RedisServer.start(), MosquittoServer.start(), freePort()]);
    launcher = new Proc('launcher', process.execPath,
      [CLI, 'start', FLOWS, '--replicas', '3', '--port', String(port), '--user-dir', userDir, '--stop-timeout', '10'],
      { cwd: REPO_ROOT, env: cleanEnv({ NR_HA_REDIS_URL: redis.url, NR_HA_MQTT_URL: mosquitto.url }) });
    await launcher.waitForLine(/\[launcher\] all 3 replicas ready/, 90_000);
  });
  after(async () => {
    await launcher?.stop('SIGKILL');
    await Promise.all([redis?.close(), mosquitto?.close()]);
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  test('uses the given Redis and broker and starts no private server', () => {
    const output = launcher.output();
    assert.match(output, new RegExp(`\\[launcher\\] NR_HA_REDIS_URL: ${redis.url}`));
    assert.match(output, new RegExp(`\\[launcher\\] NR_HA_MQTT_URL: ${mosquitto.url}`));
    assert.doesNotMatch(output, /starting a private/);
  });

  test('300 requests without keep-alive reach all 3 replicas', async () => {
    const answers: Answer[] = [];
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 30; i++) answers.push(await getOnce(port, '/counter'));
    }));
    assert.equal(answers.length, 300);
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'every request succeeds');
    const counts = countBy(answers);
    assert.deepEqual(Object.keys(counts).sort(), ['http-counter-1', 'http-counter-2', 'http-counter-3'], JSON.stringify(counts));
    // Round robin over three ready replicas: about a third each.
    for (const [replica, count] of Object.entries(counts)) assert.ok(count >= 60, `${replica} got only ${count} of 300`);
    // The counter is shared (atomic $incr in Redis): every request got its own number, none lost.
    const hits = answers.map((a) => a.hits).sort((x, y) => x! - y!);
    assert.deepEqual(hits, Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('kill -9 of a replica: it is restarted and no request fails meanwhile', async () => {
    const victim = 'http-counter-2';
    const startLine = (from: number) => launcher.waitForLine(new RegExp(`\\[launcher\\] replica ${victim} started pid \\d+`), 60_000, from);
    const pid = Number(/pid (\d+)/.exec(await startLine(0))![1]);
    const load = keepRequesting(port, 4);
    try {
      await pollUntil('requests before the kill', () => (load.answers.length >= 40 ? true : undefined), 30_000);
      const mark = launcher.lines.length;
      process.kill(pid, 'SIGKILL');
      await launcher.waitForLine(new RegExp(`replica ${victim} \\(pid ${pid}\\) exited with signal SIGKILL; restarting in 0.5 s`), 10_000, mark);
      const newPid = Number(/pid (\d+)/.exec(await startLine(mark))![1]);
      assert.notEqual(newPid, pid);
      await launcher.waitForLine(new RegExp(`\\[launcher\\] replica ${victim} ready`), 60_000, mark);
      const afterRestart = load.answers.length;
      await pollUntil(`an answer from the restarted ${victim}`,
        () => (load.answers.slice(afterRestart).some((a) => a.replica === victim) ? true : undefined), 20_000);
    } finally {
      await load.stop();
    }
    assert.ok(!alive(pid), 'the killed process is gone');
    assert.deepEqual(load.answers.filter((a) => a.status !== 200), [], `all ${load.answers.length} requests succeed`);
    assert.ok(load.answers.length > 100, `load kept running (${load.answers.length} requests)`);
  });

  test('SIGTERM stops every replica and then the launcher; nothing is left running', async () => {
    const pids = reportedPids(launcher).filter((pid) => pid !== launcher.child.pid);
    assert.ok(pids.length >= 4, `replica pids reported: ${pids.join(', ')}`);
    const code = await launcher.stop('SIGTERM', 30_000);
    assert.equal(code, 0, launcher.tail());
    assert.match(launcher.output(), /\[launcher\] stopped/);
    for (const replica of ['http-counter-1', 'http-counter-2', 'http-counter-3']) {
      assert.match(launcher.output(), new RegExp(`replica ${replica} stopped \\(code 0\\)`), `${replica} stopped gracefully`);
    }
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is gone`);
    assert.equal((await getOnce(port, '/counter')).status, 0, 'the port is closed');
  });
});

describe('npm start from a clean state', () => {
  test('serves the http-counter example through the proxy with private Redis and Mosquitto, then stops cleanly', async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-npm-start-'));
    const port = await freePort();
    // `npm start -- --port P` overrides the script's --port 1880, which may be taken on this machine.
    const npm = new Proc('npm start', 'npm', ['start', '--silent', '--', '--port', String(port), '--user-dir', userDir],
      { cwd: REPO_ROOT, env: cleanEnv() });
    try {
      await npm.waitForLine(/\[launcher\] all 2 replicas ready/, 90_000);
      assert.match(npm.output(), /\[launcher\] redis-server started pid \d+ on redis:\/\/127\.0\.0\.1:\d+/);
      assert.match(npm.output(), /\[launcher\] mosquitto started pid \d+ on mqtt:\/\/127\.0\.0\.1:\d+/);
      const answer = await getOnce(port, '/counter');
      assert.equal(answer.status, 200, answer.error);
      assert.match(answer.replica ?? '', /^http-counter-[12]$/);
      const next = await getOnce(port, '/counter');
      assert.equal(next.hits, answer.hits! + 1, 'one counter for both replicas');
      assert.notEqual(next.replica, answer.replica);
      const tick = await pollUntil('the repeating inject to have run', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/tick`, { headers: { Connection: 'close' } });
        const body = await res.json() as { lastTick: { replica: string } | null };
        return body.lastTick ?? undefined;
      }, 20_000);
      assert.match(tick.replica, /^http-counter-[12]$/);

      const pids = reportedPids(npm);
      assert.ok(pids.length >= 5, `launcher, 2 replicas, redis, mosquitto: ${pids.join(', ')}`);
      assert.equal(await npm.stop('SIGTERM', 30_000), 0, npm.tail());
      await pollUntil('every process to be gone', () => (pids.every((pid) => !alive(pid)) ? true : undefined), 10_000);
    } finally {
      await npm.stop('SIGKILL');
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});

describe('replicas that cannot start', () => {
  test('a settings file that throws: back-off restarts, then the launcher gives up with exit 1 naming the replica', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-launcher-broken-'));
    const settings = path.join(dir, 'settings.js');
    fs.writeFileSync(settings, "throw new Error('broken settings for the test');\n");
    const launcher = new Proc('broken launcher', process.execPath,
      [CLI, 'start', FLOWS, '--settings', settings, '--replicas', '1', '--port', '0', '--user-dir', path.join(dir, 'run'), '--no-private-servers'],
      { cwd: REPO_ROOT, env: cleanEnv() });
    try {
      assert.equal(await launcher.exited, 1, launcher.tail());
      const output = launcher.output();
      assert.match(output, /broken settings for the test/, 'the replica output shows why');
      const delays = [...output.matchAll(/exited with code 1; restarting in ([\d.]+) s/g)].map((m) => Number(m[1]));
      assert.deepEqual(delays, [0.5, 1, 2, 4], 'restarts back off exponentially');
      assert.match(output, /node-red-ha: replica http-counter-1 exited with code 1 5 times in a row and no replica has become ready/);
      for (const pid of reportedPids(launcher)) assert.ok(!alive(pid), `pid ${pid} is gone`);
    } finally {
      await launcher.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the launcher itself is killed', () => {
  test('kill -9 of the launcher: its replica and private Redis and Mosquitto stop too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nrha-launcher-killed-'));
    const launcher = new Proc('killed launcher', process.execPath,
      [CLI, 'start', FLOWS, '--replicas', '1', '--port', '0', '--user-dir', dir],
      { cwd: REPO_ROOT, env: cleanEnv() });
    try {
      await launcher.waitForLine(/\[launcher\] all 1 replicas ready/, 60_000);
      assert.match(launcher.output(), /redis-server started pid/);
      assert.match(launcher.output(), /mosquitto started pid/);
      const pids = reportedPids(launcher).filter((pid) => pid !== launcher.child.pid);
      assert.equal(pids.length, 3, `replica, redis-server, mosquitto: ${pids.join(', ')}`);
      assert.ok(pids.every(alive));
      await launcher.stop('SIGKILL');
      await pollUntil(`pids ${pids.join(', ')} to exit`, () => (pids.some(alive) ? undefined : true), 20_000);
    } finally {
      await launcher.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
