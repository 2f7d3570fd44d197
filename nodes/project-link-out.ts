import { DRAIN_MAX_MS } from '../lib/link/connection';
import { LinkReturnError } from '../lib/link/errors';
import { joinLink, RedNode, RedNodeApi, waitFor } from '../lib/link/node-support';
import { broadcastTopic, checkId, checkSubTopic, directTopic, responseTopic } from '../lib/link/topics';
import { encodeMessage } from '../lib/link/wire';

interface OutDef {
  name?: string;
  /** `link` sends to a target (or broadcasts); `return` answers the project link call the message came from. */
  mode?: 'link' | 'return';
  broadcast?: boolean | string;
  /** Target instance for direct messages. */
  project?: string;
  topic?: string;
}

/** Messages still flowing towards this node when it is told to close: wait this long after the last one. */
const INPUT_QUIET_MS = 100;

export = function register(RED: RedNodeApi) {
  function ProjectLinkOutNode(this: RedNode, def: OutDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = joinLink(RED, node);
    if (!link) return;
    const { team } = link.settings.config;
    const instance = link.settings.instance;
    const mode = def.mode === 'return' ? 'return' : 'link';
    const broadcast = def.broadcast === true || def.broadcast === 'true';

    let target: string | undefined;
    if (mode === 'link') {
      try {
        target = broadcast ? broadcastTopic(team, instance, def.topic as string) : directTopic(team, def.project as string, def.topic as string);
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'invalid target' });
        node.error(`project link out: ${(err as Error).message}`);
        void link.leave();
        return;
      }
    }

    let pending = 0;
    let lastInputAt = 0;
    node.on('input', (msg, _send, done) => {
      lastInputAt = Date.now();
      let topic: string;
      let properties: Record<string, unknown> = {};
      let payload: Buffer;
      try {
        if (mode === 'return') {
          const stack = msg.projectLink?.callStack;
          const caller = Array.isArray(stack) && stack.length ? stack[stack.length - 1] : undefined;
          if (!caller || typeof caller !== 'object') {
            throw new LinkReturnError('project link out (return): the message did not come from a project link call (msg.projectLink.callStack is empty)');
          }
          if (typeof caller.eventId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(caller.eventId)) {
            throw new LinkReturnError('project link out (return): the call stack entry has no valid eventId');
          }
          const callerId = checkId('calling instance', caller.project || (caller.device ? `dev:${caller.device}` : undefined));
          topic = responseTopic(team, callerId, caller.response || 'res', checkSubTopic(caller.topic));
          properties = { correlationData: Buffer.from(caller.eventId) };
          payload = encodeMessage({ ...msg, projectLink: { ...msg.projectLink, callStack: stack.slice(0, -1) } });
        } else {
          topic = target as string;
          payload = encodeMessage(msg);
        }
      } catch (err) {
        done(err as Error);
        return;
      }
      pending++;
      // A broadcast may have no listener; a direct message or a reply nobody took is not delivered.
      link.conn.publish(topic, payload, properties, { awaitSubscriber: !(mode === 'link' && broadcast) }).then(() => done(), (err: Error) => done(err)).finally(() => { pending--; });
    });

    node.on('close', (done) => {
      // Messages a closing link in is still handing to the flow may be on their way here: keep
      // taking them until the link ins are done and the input has gone quiet, then flush.
      setImmediate(async () => {
        await waitFor(() => !link.conn.draining && Date.now() - lastInputAt >= INPUT_QUIET_MS, DRAIN_MAX_MS);
        await waitFor(() => pending === 0, DRAIN_MAX_MS);
        await link.leave();
        done();
      });
    });
  }
  RED.nodes.registerType('project link out', ProjectLinkOutNode);
};
