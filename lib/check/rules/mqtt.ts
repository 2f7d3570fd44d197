import { envReference, text, type RuleContext, type RuleGroup } from '../rule';
import type { FlowNode } from '../types';

/** Topic prefixes that make the broker hand each message to one member of a group. */
const SHARED_PREFIXES = ['$share/', '$queue/'];

/**
 * Core MQTT nodes. Every replica runs its own client: a plain subscription delivers each message
 * to every replica, and one fixed client id makes the replicas knock each other off the broker.
 */
export const mqtt: RuleGroup = {
  types: ['mqtt in', 'mqtt out'],
  check(node, ctx) {
    checkBroker(node, ctx);
    if (node.type !== 'mqtt in') return;
    const topic = text(node.topic);
    if (topic === undefined) {
      if (Number(node.inputs) === 1) {
        ctx.report(node, {
          severity: 'warning', rule: 'mqtt-dynamic-subscription',
          message: 'Subscribes to the topics named in the control messages it receives: each replica subscribes only to what the messages it handles ask for, and a plain topic delivers every message to every replica that subscribed.',
          fix: 'Send the subscribe message to every replica (e.g. an inject with "once" whose type is not a singleton type) and subscribe to "$share/<group>/<topic>".',
        });
      }
      return;
    }
    if (SHARED_PREFIXES.some((prefix) => topic.startsWith(prefix))) return;
    ctx.report(node, {
      severity: 'error', rule: 'mqtt-unshared',
      message: `Every replica subscribes to "${topic}" and gets its own copy of each message: the flow runs once per replica for every message.`,
      fix: `Subscribe to "$share/<group>/${topic}" with the same group on every replica (e.g. the instance id) so the broker hands each message to one replica, or use project link nodes. Keep the plain topic only if every replica must see every message (e.g. to refresh a local cache).`,
    });
  },
};

/** Reported once per broker config node, and only when a running MQTT node uses it. */
function checkBroker(node: FlowNode, ctx: RuleContext): void {
  const broker = ctx.node(node.broker);
  if (!broker || broker.type !== 'mqtt-broker' || !ctx.isRunning(broker)) return;
  const clientId = text(broker.clientid);
  if (clientId === undefined) return;
  const variable = envReference(clientId);
  if (variable) {
    ctx.report(broker, {
      severity: 'warning', rule: 'mqtt-client-id-env',
      message: `Connects with the client id from \${${variable}}: if that variable has the same value on every replica, the broker lets only one of them stay connected and they keep disconnecting each other.`,
      fix: `Make sure ${variable} differs per replica (e.g. the pod name), or leave the client id empty so the broker assigns one.`,
    });
    return;
  }
  ctx.report(broker, {
    severity: 'error', rule: 'mqtt-fixed-client-id',
    message: `Every replica connects with the client id "${clientId}": a broker keeps one connection per client id, so the replicas keep disconnecting each other and messages are lost in between.`,
    fix: 'Leave the client id empty (the broker assigns one per connection), or set it to an environment variable that differs per replica, e.g. ${HOSTNAME} in Kubernetes.',
  });
}
