/** The part of Node-RED's onSend event the gate reads. */
export interface SendEvent {
  source?: { node?: { type?: string } };
}

/**
 * An `onSend` hook that halts the messages a singleton node type sends while this replica is not
 * the leader (returning false stops delivery of the whole send; one send comes from one node).
 */
export function singletonGate(types: readonly string[], isLeader: () => boolean): (events: SendEvent[]) => false | undefined {
  const singleton = new Set(types);
  return (events) => {
    const type = events[0]?.source?.node?.type;
    if (type === undefined || !singleton.has(type)) return undefined;
    return isLeader() ? undefined : false;
  };
}
