/** What the balancer needs to know about a replica. */
export interface Candidate {
  /** The replica answers its readiness probe and is not known to be unreachable. */
  readonly ready: boolean;
}

/**
 * Round robin over the ready replicas. `skip` holds those a request already failed on, so a
 * retry goes elsewhere. Allocation-free: it runs on every proxied request.
 */
export class RoundRobin<T extends Candidate> {
  private cursor = 0;

  pick(targets: readonly T[], skip?: readonly T[]): T | undefined {
    const count = targets.length;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      const target = targets[index];
      if (target.ready && !(skip && skip.includes(target))) {
        this.cursor = (index + 1) % count;
        return target;
      }
    }
    return undefined;
  }
}
