import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import gateNode from '../../nodes/ha-gate';
import { leadership } from '../../lib/leader/leadership';

// Untyped package: only the calls used here.
const helper = require('node-red-node-test-helper') as {
  init(nodeRedPath: string): void;
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  load(node: unknown, flow: object[]): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): { receive(msg: object): void; on(event: string, fn: (...args: any[]) => void): void };
};

helper.init(require.resolve('node-red'));

const flow = (mode: string) => [
  { id: 'g', type: 'ha gate', mode, wires: [['out']] },
  { id: 'out', type: 'helper' },
];

let arrived = 0;

/** Loads the gate; a message that gets through reaches the helper node and is counted. */
async function load(mode: string): Promise<void> {
  await helper.load(gateNode, flow(mode));
  // Node-RED keeps input handlers in its own list, so one lasting listener rather than once().
  helper.getNode('out').on('input', () => { arrived++; });
}

/** Sends one message into the gate; true if it came out within 200 ms. */
async function passes(): Promise<boolean> {
  const before = arrived;
  helper.getNode('g').receive({ payload: 1 });
  const deadline = Date.now() + 200;
  while (arrived === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return arrived > before;
}

describe('ha gate node', () => {
  before((_, done) => { helper.startServer(done); });
  after((_, done) => { helper.stopServer(done); });
  afterEach(async () => {
    await helper.unload();
    leadership.publish({ mode: 'single', leader: true, term: null, leaderId: null });
  });

  test('HA off (single instance): this replica is the leader, so leader mode passes and followers mode blocks', async () => {
    await load('leader');
    assert.equal(await passes(), true);
    await helper.unload();
    await load('followers');
    assert.equal(await passes(), false);
  });

  test('follows leadership changes while running, and shows them in its status', async () => {
    await load('leader');
    const gate = helper.getNode('g');
    const statuses: Array<{ text: string }> = [];
    gate.on('call:status', (call: { args: [{ text: string }] }) => statuses.push(call.args[0]));
    let leader = false;
    leadership.publish({ mode: 'elected', leader: false, term: 4, leaderId: 'other' }, { isLeader: () => leader });
    assert.equal(await passes(), false);
    leader = true;
    leadership.publish({ mode: 'elected', leader: true, term: 5, leaderId: 'me' }, { isLeader: () => leader });
    assert.equal(await passes(), true);
    leader = false;
    assert.equal(await passes(), false, 'a lease that ran out blocks before any event says so');
    assert.deepEqual(statuses.map((s) => s.text), [
      'leader (HA off: single instance), passing', 'follower (leader: other), blocking', 'leader (term 5), passing',
    ]);
  });
});
