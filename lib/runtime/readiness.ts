/** The facts readiness is decided from; kept apart from the events that update them. */
export interface ReadinessFacts {
  /** Node-RED has emitted flows:started for the current flows. */
  flowsStarted: boolean;
  /** This replica is taking part in a rollout (draining, applying or restarting flows). */
  rollingOut: boolean;
  /** The process has been told to stop and must get no new work. */
  stopping: boolean;
}

export interface Readiness {
  ready: boolean;
  /** Why not, for the probe's response body and the console page. */
  reason?: string;
}

export function decideReadiness(facts: ReadinessFacts): Readiness {
  if (facts.stopping) return { ready: false, reason: 'stopping' };
  if (facts.rollingOut) return { ready: false, reason: 'rollout in progress' };
  if (!facts.flowsStarted) return { ready: false, reason: 'flows not started' };
  return { ready: true };
}
