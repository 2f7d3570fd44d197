import { HAError } from '../errors';

/** A pushed snapshot was refused before anything changed; `problems` lists every reason found. */
export class SnapshotInvalidError extends HAError {
  constructor(readonly problems: string[], readonly missingTypes: string[] = []) {
    super('ha_snapshot_invalid', `Snapshot refused, nothing changed: ${problems.join('; ')}`);
  }
}

/** A replica could not run a revision; it went back to the one it ran before. */
export class ApplyFailedError extends HAError {
  constructor(readonly revision: number, message: string) {
    super('ha_apply_failed', `revision ${revision} failed to apply: ${message}`);
  }
}
