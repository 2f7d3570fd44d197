import { HAError } from '../errors';

/** A link node's configuration (topic, target, instance id) cannot be used. */
export class LinkConfigError extends HAError {
  constructor(message: string) {
    super('HA_LINK_CONFIG_INVALID', message);
  }
}

/** A message cannot be turned into a link payload (e.g. it has a circular reference), or a payload into a message. */
export class LinkWireError extends HAError {
  constructor(message: string) {
    super('HA_LINK_WIRE_INVALID', message);
  }
}

/** A link call got no reply within its timeout. */
export class LinkCallTimeoutError extends HAError {
  constructor(message: string) {
    super('HA_LINK_CALL_TIMEOUT', message);
  }
}

/** The broker refused a publish for a reason retrying cannot fix (not authorised, topic invalid, too large, …). */
export class LinkPublishRefusedError extends HAError {
  /** The MQTT v5 reason code, e.g. 135 (not authorised). */
  readonly reasonCode: number;

  constructor(message: string, reasonCode: number) {
    super('HA_LINK_PUBLISH_REFUSED', message);
    this.reasonCode = reasonCode;
  }
}

/** The outbound queue is full (messages or bytes), so this message was not accepted. */
export class LinkQueueFullError extends HAError {
  constructor(message: string) {
    super('HA_LINK_QUEUE_FULL', message);
  }
}

/** A message waited in the outbound queue (or for the broker's acknowledgement) past its deadline. */
export class LinkDeadlineError extends HAError {
  constructor(message: string) {
    super('HA_LINK_DEADLINE_EXCEEDED', message);
  }
}

/** The link connection closed before the message went out (shutdown or redeploy). */
export class LinkClosedError extends HAError {
  constructor(message: string) {
    super('HA_LINK_CLOSED', message);
  }
}

/** A `project link out` in return mode got a message that came from no link call. */
export class LinkReturnError extends HAError {
  constructor(message: string) {
    super('HA_LINK_NO_CALLER', message);
  }
}

/** A message that must reach a listener (a direct link or a reply) found no subscriber until its deadline. */
export class LinkNoSubscribersError extends HAError {
  constructor(message: string) {
    super('HA_LINK_NO_SUBSCRIBERS', message);
  }
}
