import type { LinkState } from './connection';

export interface NodeStatus {
  fill: 'red' | 'green' | 'yellow' | 'grey' | 'blue';
  shape: 'dot' | 'ring';
  text: string;
}

/** A link node's status for the connection state and the number of messages waiting for the broker. */
export function statusFor(state: LinkState, detail: string, queued: number): NodeStatus {
  const base: NodeStatus = state === 'connected' ? { fill: 'green', shape: 'dot', text: 'connected' }
    : state === 'connecting' ? { fill: 'yellow', shape: 'ring', text: 'connecting' }
    : state === 'reconnecting' ? { fill: 'yellow', shape: 'ring', text: 'reconnecting' }
    : state === 'error' ? { fill: 'red', shape: 'ring', text: detail ? `error: ${detail}` : 'error' }
    : { fill: 'red', shape: 'ring', text: 'disconnected' };
  if (queued > 0) base.text += ` (${queued} queued)`;
  if (base.text.length > 60) base.text = base.text.slice(0, 59) + '…';
  return base;
}
