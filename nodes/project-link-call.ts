import crypto from 'node:crypto';
import { DRAIN_MAX_MS } from '../lib/link/connection';
import type { Delivery, DeliveryHandler } from '../lib/link/connection';
import { LinkCallTimeoutError, LinkClosedError } from '../lib/link/errors';
import { joinLink, RedNode, RedNodeApi, waitFor } from '../lib/link/node-support';
import { directTopic, responseTopic } from '../lib/link/topics';
import { decodeMessage, encodeMessage } from '../lib/link/wire';

interface CallDef {
  name?: string;
  /** Target instance. */
  project?: string;
  topic?: string;
  /** Seconds to wait for the reply. @default 30 */
  timeout?: string | number;
}

interface PendingCall {
  msg: Record<string, any>;
  send(msg: unknown): void;
  done(err?: Error): void;
  timer: NodeJS.Timeout;
}

/** Replies that arrive after their call timed out are dropped quietly; remember this many ids. */
const TIMED_OUT_MEMORY = 1000;

export = function register(RED: RedNodeApi) {
  function ProjectLinkCallNode(this: RedNode, def: CallDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = joinLink(RED, node);
    if (!link) return;
    const { team } = link.settings.config;
    const instance = link.settings.instance;
    const seconds = Number.parseFloat(String(def.timeout ?? '30'));
    const timeoutMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000;

    let requestTopic: string;
    let replyFilter: string;
    try {
      requestTopic = directTopic(team, def.project as string, def.topic as string);
      // Not shared even in HA mode: the reply level is unique to this replica, so replies come home.
      replyFilter = responseTopic(team, instance, link.conn.responseLevel, def.topic as string);
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: 'invalid target' });
      node.error(`project link call: ${(err as Error).message}`);
      void link.leave();
      return;
    }

    const pending = new Map<string, PendingCall>();
    const timedOut = new Set<string>();

    const handler: DeliveryHandler = {
      deliver({ topic, payload, packet }: Delivery) {
        const correlation = packet.properties?.correlationData;
        if (!correlation) return false;
        const eventId = correlation.toString();
        const call = pending.get(eventId);
        if (!call) {
          if (!timedOut.has(eventId)) return false;
          node.debug(`project link call: reply for ${eventId} arrived after its timeout; dropped`);
          return true;
        }
        pending.delete(eventId);
        clearTimeout(call.timer);
        let reply: Record<string, any>;
        try {
          reply = decodeMessage(payload);
        } catch (err) {
          call.done(new Error(`project link call: reply on ${topic} unreadable: ${(err as Error).message}`));
          return true;
        }
        if (reply.projectLink && Array.isArray(reply.projectLink.callStack) && reply.projectLink.callStack.length === 0) {
          delete reply.projectLink.callStack;
        }
        // The HTTP request/response objects never left this process: put them back for HTTP response.
        if (call.msg.req !== undefined) reply.req = call.msg.req;
        if (call.msg.res !== undefined) reply.res = call.msg.res;
        call.send(reply);
        call.done();
        return true;
      },
      unclaimed({ topic, packet }: Delivery) {
        node.warn(packet.properties?.correlationData
          ? `project link call: reply on ${topic} matches no call in progress (unknown correlation data); dropped`
          : `project link call: reply on ${topic} has no correlation data; dropped`);
      },
    };
    const subscribed = link.conn.subscribe(replyFilter, handler, true);
    subscribed.catch((err: Error) => {
      node.status({ fill: 'red', shape: 'ring', text: 'subscribe failed' });
      node.error(`project link call: subscribing to ${replyFilter} failed: ${err.message}`);
    });

    const expire = (eventId: string) => {
      const call = pending.get(eventId);
      if (!call) return;
      pending.delete(eventId);
      timedOut.add(eventId);
      if (timedOut.size > TIMED_OUT_MEMORY) timedOut.delete(timedOut.values().next().value as string);
      call.done(new LinkCallTimeoutError(`project link call: no reply from ${def.project} on "${def.topic}" within ${timeoutMs / 1000} s`));
    };

    node.on('input', (msg, send, done) => {
      const eventId = crypto.randomBytes(14).toString('hex');
      const stack = Array.isArray(msg.projectLink?.callStack) ? msg.projectLink.callStack : [];
      const entry = { eventId, node: node.id, project: instance, instance, topic: def.topic, response: link.conn.responseLevel, ts: Date.now() };
      let payload: Buffer;
      try {
        payload = encodeMessage({ ...msg, projectLink: { ...msg.projectLink, callStack: [...stack, entry] } });
      } catch (err) {
        done(err as Error);
        return;
      }
      pending.set(eventId, { msg, send, done, timer: setTimeout(() => expire(eventId), timeoutMs) });
      const fail = (err: Error) => {
        const call = pending.get(eventId);
        if (!call) return;
        pending.delete(eventId);
        clearTimeout(call.timer);
        done(err);
      };
      // The reply subscription must be in place before the request can be answered.
      subscribed
        // A request still waiting for a responder when the call times out is not sent late.
        .then(() => link.conn.publish(requestTopic, payload, { correlationData: Buffer.from(eventId), responseTopic: replyFilter }, { awaitSubscriber: true, deadlineMs: timeoutMs }))
        .catch(fail);
    });

    node.on('close', (done) => {
      void (async () => {
        await waitFor(() => pending.size === 0, DRAIN_MAX_MS);
        for (const [eventId, call] of pending) {
          clearTimeout(call.timer);
          pending.delete(eventId);
          call.done(new LinkClosedError('project link call: node stopped before the reply arrived'));
        }
        await link.conn.unsubscribe(replyFilter, handler).catch(() => undefined);
        await link.leave();
        done();
      })();
    });
  }
  RED.nodes.registerType('project link call', ProjectLinkCallNode);
};
