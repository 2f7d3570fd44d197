import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import type { NodeRed } from '../harness/node-red';
import { REPO_ROOT } from '../harness/package';
import { pollUntil } from '../harness/poll';
import { RedisServer } from '../harness/redis';
import { startReplicas } from './logging-replicas';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test', 'artifacts');
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & done';
const TOKEN = 'console-test-sync-token';
/** adminAuth on, so /ha/status and /ha/logs need a token and the page has to ask for one. */
const ADMIN_AUTH = {
  adminAuth: {
    type: 'credentials',
    users: [{ username: 'admin', password: '$2b$08$2gLgiZ.VjqXNEHTSLYGe.OEzb027hEWcuHljLTInsLzMjq0dY7DaS', permissions: '*' }],
  },
};

describe('the HA console page in headless Chromium', () => {
  let redis: RedisServer;
  let replicas: NodeRed[];
  let browser: Browser;
  let page: Page;
  const tag = `ui${Date.now()}`;

  const log = (nr: NodeRed, params: Record<string, string>) => nr.request('GET', `/log?${new URLSearchParams(params)}`);
  /** The log lines the page shows for this test, as [replica, level, message]. */
  const shown = () => page.$$eval('#logs li', (items, wanted) => items
    .filter((li) => li.querySelector('.msg')!.textContent!.includes(wanted))
    .map((li) => [li.getAttribute('data-replica'), li.querySelector('.level')!.textContent, li.querySelector('.msg')!.textContent]), tag);
  const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, 15_000, 200);
  const status = async () => (await replicas[0].request('GET', '/ha/status', undefined, { Authorization: `Bearer ${TOKEN}` })).json;

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    redis = await RedisServer.start();
    [replicas, browser] = await Promise.all([
      startReplicas('console', 3, redis.url, { NR_HA_SYNC_TOKEN: TOKEN }, ADMIN_AUTH),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      }),
    ]);
    for (const [i, nr] of replicas.entries()) {
      await log(nr, { tag, n: '1' });
      await log(nr, { tag, n: '2', level: 'error' });
      if (i === 2) await log(nr, { raw: `${tag} ${HOSTILE}` });
    }
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await Promise.all((replicas ?? []).map((nr) => nr.close()));
    await redis?.close();
  });

  test('asks for a token when the APIs need one, then lists the 3 replicas, their readiness and the leader', async () => {
    assert.equal((await replicas[0].request('GET', '/ha/status')).status, 401, 'adminAuth protects /ha/status');
    await page.goto(`${replicas[0].url}/ha`);
    assert.ok(page.url().endsWith('/ha/'), `redirected to the trailing slash: ${page.url()}`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 15_000 });
    assert.match(await page.textContent('#connection') ?? '', /not authorized/);
    await page.fill('#token', TOKEN);
    await page.click('#auth button[type=submit]');
    const current = await until('3 replicas and a leader in /ha/status', async () => {
      const body = await status();
      return body.replicas.length === 3 && body.leader ? body : undefined;
    });
    assert.ok(['console-1', 'console-2', 'console-3'].includes(current.leader), current.leader);
    const rows = await until('3 rows, one marked leader, the leader in the summary', async () => {
      const got = await page.$$eval('#replicas tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
      const leaders = got.filter((r) => r[2] === 'leader').map((r) => r[0]);
      return got.length === 3 && leaders.length === 1 && leaders[0] === current.leader && await page.textContent('#leader') === current.leader
        ? got : undefined;
    });
    assert.deepEqual(rows.map((r) => r[0]), ['console-1', 'console-2', 'console-3']);
    for (const row of rows) assert.equal(row[1], 'ready');
    assert.equal(await page.textContent('#instance'), 'console');
    assert.equal(await page.isHidden('#auth'), true, 'the token form is gone');
    await until('the page to report live updates', async () => (await page.textContent('#connection') === 'live' ? true : undefined));
  });

  test('combined logs of every replica; selecting a replica filters the list', async () => {
    const all = await until('7 lines of the 3 replicas', async () => {
      const lines = await shown();
      return lines.length === 7 ? lines : undefined;
    });
    assert.deepEqual(all.filter((l) => !l[2]!.includes('<script>')).map((l) => l[0]).sort(),
      ['console-1', 'console-1', 'console-2', 'console-2', 'console-3', 'console-3']);

    await page.click('#replicas tbody tr[data-replica="console-2"]');
    const filtered = await until('only console-2 lines', async () => {
      const lines = await page.$$eval('#logs li', (items) => items.map((li) => li.getAttribute('data-replica')));
      return lines.length > 0 && lines.every((r) => r === 'console-2') ? lines : undefined;
    });
    assert.ok(filtered.length >= 2);
    assert.equal(await page.inputValue('#filter-replica'), 'console-2');
    assert.deepEqual((await shown()).map((l) => [l[0], l[1]]), [['console-2', 'warn'], ['console-2', 'error']]);

    await page.selectOption('#filter-level', 'error');
    await until('only the error line', async () => {
      const lines = await shown();
      return lines.length === 1 && lines[0][1] === 'error' ? true : undefined;
    });
  });

  test('new lines appear live, within the filters', async () => {
    await log(replicas[1], { tag, n: '3', level: 'error' });
    await log(replicas[2], { tag, n: '3', level: 'error' });
    await log(replicas[1], { tag, n: '4' });
    const lines = await until('the new console-2 error line', async () => {
      const got = await shown();
      return got.length === 2 ? got : undefined;
    });
    assert.deepEqual(lines.map((l) => l[2]), [`${tag} n=2 from console-2`, `${tag} n=3 from console-2`]);

    await page.selectOption('#filter-replica', '');
    await page.selectOption('#filter-level', 'trace');
    await page.fill('#filter-text', 'n=3 from');
    const searched = await until('the text search result', async () => {
      const got = await page.$$eval('#logs li .msg', (msgs) => msgs.map((m) => m.textContent));
      return got.length === 2 ? got : undefined;
    });
    assert.deepEqual(searched, [`${tag} n=3 from console-2`, `${tag} n=3 from console-3`]);
  });

  test('a message containing <script> is shown as text and never runs', async () => {
    await page.fill('#filter-text', '');
    const text = await until('the hostile line', async () => {
      const got = await page.$$eval('#logs li .msg', (msgs) => msgs.map((m) => m.textContent).filter((t) => t!.includes('<script>')));
      return got.length === 1 ? got[0] : undefined;
    });
    assert.equal(text, `${tag} ${HOSTILE}`);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined, 'no script ran');
    assert.equal(await page.$$eval('#logs script, #logs img', (found) => found.length), 0, 'no element was made from log text');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'ha-console.png'), fullPage: true });
  });
});
