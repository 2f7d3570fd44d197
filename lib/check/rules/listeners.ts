import { text, type RuleContext, type RuleGroup, type Verdict } from '../rule';
import type { FlowNode } from '../types';

const GATE_FIX = 'Wire its output into an "ha gate" node so only the leader handles the data, or make the remote side send each message once (e.g. through a shared MQTT subscription).';
const PORT_FIX = 'Run the replicas where each has its own address (e.g. pods behind a Kubernetes Service, which keeps each connection on one replica), not several on one host; replies must leave from the replica that holds the connection (a reply in the same flow does).';

/** Configuration nodes of the two dashboards: no widget, nothing to report. */
const DASHBOARD_CONFIG = new Set(['ui_base', 'ui_tab', 'ui_group', 'ui_link', 'ui_spacer', 'ui-base', 'ui-page', 'ui-group', 'ui-theme', 'ui-link']);

/**
 * Network inputs and outputs bound to one process: servers (a connection stays with one
 * replica), clients (every replica opens one), devices (one owner only), dashboards.
 */
export const listeners: RuleGroup = {
  types: ['websocket in', 'websocket out', 'tcp in', 'tcp out', 'udp in', 'serial in', 'serial out', 'serial request'],
  // node-red-dashboard (ui_*) and @flowfuse/node-red-dashboard (ui-*) widgets.
  matches: (type) => /^ui[_-]/.test(type) && !DASHBOARD_CONFIG.has(type),
  check(node, ctx) {
    const verdict = judge(node, ctx);
    if (verdict) ctx.report(node, verdict);
  },
};

function judge(node: FlowNode, ctx: RuleContext): Verdict | undefined {
  const sticky = (message: string, fix = PORT_FIX): Verdict => ({ severity: 'warning', rule: 'sticky-listener', message, fix });
  switch (node.type) {
    case 'websocket in':
    case 'websocket out':
      return websocket(node, ctx, sticky);
    case 'tcp in': {
      const port = text(node.port) ?? '?';
      if (text(node.server) === 'client' || node.server === false) {
        return {
          severity: 'warning', rule: 'duplicate-input',
          message: `Every replica opens its own connection to ${text(node.host) ?? '?'}:${port}: data the remote side sends to each connection is handled once per replica.`,
          fix: GATE_FIX,
        };
      }
      return sticky(`Every replica listens on TCP port ${port}: on one host only the first replica can bind it (the others fail with EADDRINUSE); elsewhere each connection stays with the replica that accepted it, and its data is handled there only.`);
    }
    case 'tcp out':
      if (text(node.beserver) !== 'server') return undefined;
      return sticky(`Listens on TCP port ${text(node.port) ?? '?'} on every replica and sends only to the clients connected to this replica: a message handled on another replica does not reach them, and on one host only one replica can bind the port.`);
    case 'udp in': {
      const port = text(node.port) ?? '?';
      if (text(node.multicast) === 'true') {
        return {
          severity: 'error', rule: 'duplicate-input',
          message: `Every replica joins multicast group ${text(node.group) ?? '?'} on port ${port} and receives every datagram: each one is handled once per replica.`,
          fix: GATE_FIX,
        };
      }
      return sticky(`Every replica binds UDP port ${port}: on one host only one replica can bind it (the others fail with EADDRINUSE); behind a load balancer datagrams are spread over the replicas, and a broadcast reaches each of them.`,
        'Send the datagrams to one address that a load balancer spreads over the replicas, or receive them on one instance outside the HA set and pass them on with project link nodes.');
    }
    case 'serial in':
    case 'serial out':
    case 'serial request': {
      const port = text(ctx.node(node.serial)?.serialport);
      return {
        severity: 'error', rule: 'single-owner-device',
        message: `Every replica tries to open the serial port${port ? ` ${port}` : ''}: only one process can hold a serial device (and only a replica on the machine it is plugged into can reach it), so the others fail and keep retrying.`,
        fix: 'Run the serial nodes on one Node-RED outside the HA set and connect it to the replicas with project link nodes or MQTT.',
      };
    }
    default:
      return {
        severity: 'warning', rule: 'dashboard',
        message: 'Dashboard browsers connect to one replica and stay there: a value this widget receives on one replica reaches only the browsers connected to that replica, each replica keeps its own widget state, and the connection needs sticky sessions.',
        fix: 'Enable sticky sessions (cookie or client-IP affinity) on the load balancer and send values every browser must see to every replica, or keep the dashboard on one instance outside the HA set.',
      };
  }
}

function websocket(node: FlowNode, ctx: RuleContext, sticky: (message: string, fix?: string) => Verdict): Verdict | undefined {
  const listener = ctx.node(node.server);
  if (listener?.type === 'websocket-listener') {
    const path = text(listener.path) ?? '?';
    const fix = 'Enable sticky sessions on the load balancer and make clients reconnect; to reach every client, send the message to every replica (e.g. an MQTT topic each replica subscribes to without $share).';
    return node.type === 'websocket in'
      ? sticky(`Each client of ${path} connects to one replica and stays there: its messages are handled by that replica only, and the connection drops when that replica restarts or a rollout reaches it.`, fix)
      : sticky(`Sends only to the clients of ${path} connected to this replica: a message handled on another replica does not reach them, and a broadcast reaches only part of the clients.`, fix);
  }
  const client = ctx.node(node.client);
  if (node.type === 'websocket in' && client?.type === 'websocket-client') {
    return {
      severity: 'warning', rule: 'duplicate-input',
      message: `Every replica opens its own connection to ${text(client.path) ?? '?'}: data the server pushes to each connection is handled once per replica.`,
      fix: GATE_FIX,
    };
  }
  return undefined;
}

