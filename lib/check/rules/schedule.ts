import { flag, text, type RuleContext, type RuleGroup } from '../rule';
import type { FlowNode } from '../types';

/**
 * Nodes that start flows on their own on every replica: core inject (repeat, cron, once) and the
 * common contrib schedulers. node-red-ha drops the output of singleton types on followers.
 */
export const schedule: RuleGroup = {
  types: ['inject', 'cronplus', 'bigtimer'],
  check(node, ctx) {
    const when = node.type === 'inject' ? injectSchedule(node) : 'on its schedule';
    const once = node.type === 'inject' && flag(node.once);
    if (!when && !once) return;
    const singleton = ctx.isSingleton(node.type);
    const gated = !singleton && feedsOnlyGates(node, ctx);

    if (when) {
      if (singleton) {
        ctx.report(node, {
          severity: 'info', rule: 'scheduled-leader-only',
          message: `Fires ${when}; node-red-ha drops "${node.type}" output on every replica but the leader (NR_HA_SINGLETON_TYPES), so it runs once per instance.`,
          fix: 'Nothing to do, as long as the replicas have NR_HA_REDIS_URL (without Redis there is no leader and every replica emits). When the leader fails, the next one takes over within the lease (NR_HA_LEASE_MS); a tick due during the fail-over can be missed.',
        });
      } else if (gated) {
        ctx.report(node, {
          severity: 'info', rule: 'scheduled-leader-only',
          message: `Fires ${when} on every replica, but is wired only into "ha gate" nodes that pass messages on the leader only.`,
          fix: 'Nothing to do.',
        });
      } else {
        ctx.report(node, {
          severity: 'error', rule: 'scheduled-every-replica',
          message: `Fires ${when} on every replica: with N replicas the flow after it runs N times per tick.`,
          fix: `Add "${node.type}" to NR_HA_SINGLETON_TYPES so only the leader emits, or wire it into an "ha gate" node.`,
        });
      }
      return;
    }
    if (singleton || gated) {
      ctx.report(node, {
        severity: 'warning', rule: 'once-leader-only',
        message: 'Fires once at start-up, but only the leader\'s message goes on: the other replicas skip this start-up step, a replica that becomes leader later does not run it again, and if it fires before the first leader is elected no replica runs it.',
        fix: `Fine if the step is needed once per instance and its result is shared (e.g. it fills the "ha" context). If every replica needs it, take "${node.type}" out of NR_HA_SINGLETON_TYPES (or out of the "ha gate") and gate the repeating ones with "ha gate" nodes.`,
      });
    } else {
      ctx.report(node, {
        severity: 'warning', rule: 'once-every-replica',
        message: 'Fires once when each replica starts, and again on every restart and flow rollout: with N replicas this start-up step runs N times.',
        fix: `Fine for per-replica set-up. If it must run once per instance, add "${node.type}" to NR_HA_SINGLETON_TYPES or wire it into an "ha gate" node.`,
      });
    }
  },
};

/** "every 5 s", "on cron \"0 * * * *\"", or undefined for an inject without a schedule. */
function injectSchedule(node: FlowNode): string | undefined {
  const repeat = Number(text(node.repeat));
  if (repeat > 0) return `every ${duration(repeat)}`;
  const cron = text(node.crontab);
  return cron ? `on the schedule "${cron}"` : undefined;
}

function duration(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * True when every wire out of the node ends at an `ha gate` in leader mode (and there is at
 * least one); a gate in followers mode still lets several replicas through.
 */
function feedsOnlyGates(node: FlowNode, ctx: RuleContext): boolean {
  if (!Array.isArray(node.wires)) return false;
  const targets = node.wires.flat();
  return targets.length > 0 && targets.every((id) => {
    const target = ctx.node(id);
    return target?.type === 'ha gate' && target.mode !== 'followers' && ctx.isRunning(target);
  });
}
