import type { RuleGroup } from '../rule';

/** node-red-ha's (FlowFuse-compatible) project link nodes are built for replicas: say so. */
export const projectLink: RuleGroup = {
  types: ['project link in', 'project link out', 'project link call'],
  check(node, ctx) {
    const message = node.type === 'project link out'
      ? 'Fine in HA: each message is published once, by the replica that handled it; replies ("return" mode) go back to the replica that called.'
      : node.type === 'project link call'
        ? 'Fine in HA: each call is sent once by the replica that handles the message, and the reply comes back to that replica.'
        : 'Fine in HA: the subscription is shared between the replicas ($share/<instance>/...), so each message is handled by exactly one replica.';
    ctx.report(node, { severity: 'info', rule: 'project-link', message, fix: 'Nothing to do.' });
  },
};
