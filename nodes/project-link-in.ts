import { joinLink, RedNode, RedNodeApi } from '../lib/link/node-support';
import { ALL_SOURCES, broadcastTopic, directTopic, parseLinkTopic, sharedFilter } from '../lib/link/topics';
import { annotateReceived, decodeMessage } from '../lib/link/wire';
import type { Delivery, DeliveryHandler } from '../lib/link/connection';

interface InDef {
  name?: string;
  /** Source instance for broadcasts (`all` for every source); unused for direct messages. */
  project?: string;
  broadcast?: boolean | string;
  topic?: string;
}

export = function register(RED: RedNodeApi) {
  function ProjectLinkInNode(this: RedNode, def: InDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = joinLink(RED, node);
    if (!link) return;
    const { team, enabled } = link.settings.config;
    const instance = link.settings.instance;
    const broadcast = def.broadcast === true || def.broadcast === 'true';

    let filter: string;
    try {
      const topic = broadcast ? broadcastTopic(team, def.project || ALL_SOURCES, def.topic as string) : directTopic(team, instance, def.topic as string);
      // With HA each message goes to one replica of this instance.
      filter = enabled ? sharedFilter(instance, topic) : topic;
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: 'invalid topic' });
      node.error(`project link in: ${(err as Error).message}`);
      void link.leave();
      return;
    }

    const handler: DeliveryHandler = {
      deliver({ topic, payload, packet }: Delivery) {
        let msg: Record<string, unknown>;
        try {
          msg = decodeMessage(payload);
        } catch (err) {
          node.error(`project link in: message on ${topic} dropped: ${(err as Error).message}`);
          return true;
        }
        annotateReceived(msg, parseLinkTopic(topic)?.subTopic ?? '', packet.properties?.userProperties as Record<string, unknown> | undefined);
        node.receive(msg);
        return true;
      },
    };
    const subscribe = () => {
      link.conn.subscribe(filter, handler).catch((err: Error) => {
        node.status({ fill: 'red', shape: 'ring', text: 'subscribe failed' });
        node.error(`project link in: subscribing to ${filter} failed: ${err.message}`);
      });
    };
    // Node-RED creates a flow's nodes one at a time with awaits in between: a message taken
    // before the whole flow exists could be passed to a node not yet created, and be lost.
    RED.events.once('flows:started', subscribe);

    node.on('input', (msg, send, done) => {
      send(msg);
      done();
    });
    node.on('close', (done) => {
      RED.events.removeListener('flows:started', subscribe);
      // Unsubscribe first and take what the broker already sent us, then let the connection go.
      link.conn.unsubscribe(filter, handler)
        .catch((err: Error) => node.warn(`project link in: unsubscribe failed: ${err.message}`))
        .then(() => link.leave())
        .finally(done);
    });
  }
  RED.nodes.registerType('project link in', ProjectLinkInNode);
};
