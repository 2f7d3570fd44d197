import { gatePasses, gateStatus, parseGateMode } from '../lib/leader/gate';
import { leadership, LeadershipState } from '../lib/leader/leadership';

interface GateDef {
  id: string;
  name?: string;
  /** `leader` (default) or `followers`. */
  mode?: string;
}

interface GateNode {
  status(status: object): void;
  on(event: 'input', fn: (msg: object, send: (msg: object) => void, done: () => void) => void): void;
  on(event: 'close', fn: () => void): void;
}

interface GateRED {
  nodes: { createNode(node: object, def: object): void; registerType(type: string, ctor: Function): void };
}

/** `ha gate`: passes messages only on the leader replica (or only on the followers). */
export = function register(RED: GateRED) {
  function HaGateNode(this: GateNode, def: GateDef) {
    RED.nodes.createNode(this, def);
    const mode = parseGateMode(def.mode);
    const show = (state: LeadershipState) => this.status(gateStatus(mode, state));
    leadership.on('change', show);
    show(leadership.state());
    this.on('input', (msg, send, done) => {
      if (gatePasses(mode, leadership.isLeader())) send(msg);
      done();
    });
    this.on('close', () => leadership.off('change', show));
  }
  RED.nodes.registerType('ha gate', HaGateNode);
};
