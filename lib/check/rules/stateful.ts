import { flag, text, type RuleGroup, type Verdict } from '../rule';
import type { FlowNode } from '../types';

const SHARED_STATE_FIX = 'Keep the state in the shared "ha" context (e.g. a function node with flow.get/flow.set), or route these messages to one place (a project link to a single instance outside the HA set).';

/** Contrib nodes that aggregate or remember across messages, by type: what they keep. */
const CONTRIB: Record<string, string> = {
  smooth: 'a running average (or min/max) of the values it has seen',
  aggregator: 'the values it aggregates over its interval',
  counter: 'its count',
  throttle: 'its throttle counters',
};

/**
 * Nodes that remember something between messages. With N replicas each one sees only its share
 * of the messages, so what it remembers is a different, partial picture on every replica.
 */
export const stateful: RuleGroup = {
  types: ['rbe', 'join', 'batch', 'delay', 'trigger', ...Object.keys(CONTRIB)],
  check(node, ctx) {
    const verdict = judge(node);
    if (verdict) ctx.report(node, verdict);
  },
};

function judge(node: FlowNode): Verdict | undefined {
  const warning = (message: string, fix = SHARED_STATE_FIX): Verdict => ({ severity: 'warning', rule: 'stateful-node', message, fix });
  switch (node.type) {
    case 'rbe': {
      const perTopic = node.septopics === false ? '' : ' (per topic)';
      return warning(`Remembers the last value${perTopic} on each replica: consecutive messages handled by different replicas are compared with different values, so repeats get through and changes can be missed.`,
        'Compare against a value kept in the shared "ha" context (a function node), or make the flow after it tolerate repeats.');
    }
    case 'join': {
      const mode = text(node.mode) ?? 'auto';
      if (mode === 'auto' || mode === 'reduce') {
        return {
          severity: 'info', rule: 'sequence-in-replica',
          message: `Joins (${mode}) the parts of a sequence split earlier in the flow: the parts stay on the replica that split the message, so this works as before.`,
          fix: 'Nothing to do, unless the parts arrive from outside one by one (MQTT, HTTP): then they spread over the replicas, as with a manual join.',
        };
      }
      return warning('Collects messages into groups in this replica\'s memory: the messages of one group are spread over the replicas, so groups fill slowly, come out smaller or never complete, and a group in progress is lost when its replica stops.');
    }
    case 'batch':
      return warning(`Builds batches (${text(node.mode) ?? 'count'}) in this replica's memory: each replica batches only its share of the messages, so batches are smaller or slower to fill, and a batch in progress is lost when its replica stops.`);
    case 'delay':
      return rateLimit(node, warning);
    case 'trigger':
      return warning('Keeps its timer and reset state on one replica: a reset or a second message handled by another replica neither stops nor extends it, so it can fire when it should not (a watchdog fires although messages keep coming), and a pending output is lost when the replica stops.',
        'Make the trigger and the messages that reset it meet on one replica (a project link to a single instance), or keep the last-seen time in the shared "ha" context and check it on a schedule (an inject, leader only).');
    default:
      return warning(`Keeps ${CONTRIB[node.type]} in this replica's memory: each replica sees only its share of the messages, so the results differ from a single Node-RED.`);
  }
}

/** Only the rate-limiting modes keep state; a plain delay does not depend on other messages. */
function rateLimit(node: FlowNode, warning: (message: string, fix?: string) => Verdict): Verdict | undefined {
  const mode = text(node.pauseType);
  if (mode !== 'rate' && mode !== 'queue' && mode !== 'timed') return undefined;
  const per = `${text(node.nbRateUnits) ?? '1'} ${text(node.rateUnits) ?? 'second'}`;
  const what = mode === 'rate'
    ? `Lets at most ${text(node.rate) ?? '1'} message(s) per ${per} through`
    : `Releases one message per topic every ${per}`;
  const held = flag(node.drop) ? '' : '; queued messages wait in that replica\'s memory and are lost if it stops';
  return warning(`${what} on each replica: with N replicas up to N times that rate leaves the instance${held}.`,
    'If the limit protects another system, divide the rate by the number of replicas, or send these messages to one instance outside the HA set (project link) that does the limiting.');
}
