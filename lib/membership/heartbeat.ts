import type Redis from 'ioredis';
import { instanceKey } from '../redis/keys';
import type { HAFeature } from '../runtime/feature';
import type { ReplicaRuntime } from '../runtime/replica';
import { decodeRows, HEARTBEAT, HEARTBEAT_MS, LEAVE, ROW_TTL_MS } from './table';

type MemberClient = Redis & {
  nrhaHeartbeat(index: string, prefix: string, id: string, row: string, ttl: number): Promise<unknown[]>;
  nrhaLeave(index: string, row: string, id: string): Promise<number>;
};

let timer: NodeJS.Timeout | undefined;
let leave: (() => Promise<unknown>) | undefined;

/**
 * The replica table of /ha/status: every replica writes its row (id, ready, leader, revision,
 * lastSeen) to Redis every second with a short time-to-live and reads everyone's rows back.
 */
export const membership: HAFeature = {
  name: 'membership',
  start({ config, replica, redis }) {
    if (!config.enabled || !redis) return;
    const client = redis as MemberClient;
    client.defineCommand('nrhaHeartbeat', { lua: HEARTBEAT, numberOfKeys: 1 });
    client.defineCommand('nrhaLeave', { lua: LEAVE, numberOfKeys: 2 });
    const index = instanceKey(config.instance as string, 'replicas');
    const prefix = instanceKey(config.instance as string, 'replica', '');
    const beat = () => heartbeat(client, replica, index, prefix);
    timer = setInterval(beat, HEARTBEAT_MS);
    leave = () => client.nrhaLeave(index, prefix + config.replica, config.replica);
    beat();
  },
  async stop() {
    clearInterval(timer);
    await leave?.().catch(() => undefined);
  },
};

async function heartbeat(client: MemberClient, replica: ReplicaRuntime, index: string, prefix: string): Promise<void> {
  try {
    const rows = await client.nrhaHeartbeat(index, prefix, replica.config.replica, JSON.stringify(replica.ownRow()), ROW_TTL_MS);
    replica.peers = decodeRows(rows);
  } catch {
    // Redis unreachable: the table shows only this replica until it is back (the plugin logs the outage).
    replica.peers = [];
  }
}
