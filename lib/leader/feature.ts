import type { HAFeature } from '../runtime/feature';
import { ElectionState, LeaderElection } from './election';
import { leadership } from './leadership';
import { leaderMetrics } from './metrics';

let election: LeaderElection | undefined;

/**
 * Takes part in the instance's leader election (HA mode with Redis), reflects the role in the
 * replica's status and publishes it to nodes through `leadership`.
 */
export const leaderElection: HAFeature = {
  name: 'leader election',
  start({ RED, config, replica, redis }) {
    if (!config.enabled) {
      leadership.publish({ mode: 'single', leader: true, term: null, leaderId: null });
      return;
    }
    if (!redis) {
      leadership.publish({ mode: 'unavailable', leader: true, term: null, leaderId: null });
      return;
    }
    const current = election = new LeaderElection(redis, { instance: config.instance as string, replica: config.replica, leaseMs: config.leaseMs });
    replica.leaderId = null;
    leadership.publish({ mode: 'elected', leader: false, term: null, leaderId: null }, current);
    current.on('change', (state: ElectionState) => {
      const wasLeader = replica.leader;
      if (wasLeader !== state.leader) leaderMetrics.changes.inc();
      leaderMetrics.isLeader.set(state.leader ? 1 : 0);
      if (state.term !== null) leaderMetrics.term.set(state.term);
      replica.leader = state.leader;
      replica.leaderId = state.leaderId;
      if (state.leader) RED.log.info(`HA leader: this replica is now the leader (term ${state.term})`);
      else if (wasLeader) RED.log.info(`HA leader: this replica is no longer the leader (term ${state.term}): ${state.reason ?? 'lease lost'}`);
      else if (state.leaderId) RED.log.info(`HA leader: ${state.leaderId} is the leader (term ${state.term})`);
      else RED.log.info('HA leader: no leader known (Redis unreachable)');
      leadership.publish({ mode: 'elected', leader: state.leader, term: state.term, leaderId: state.leaderId }, current);
    });
    current.start();
  },
  async stop() {
    await election?.stop();
    election = undefined;
  },
};
