// The busy flow the overhead and log-shipping sections run: GET /work?n=N&log=1 fans out N
// messages, each does a JSON round trip (and logs one warning when log=1); the last one answers.

// Node ids differ from every name: Node-RED takes a property equal to a node id for a config-node reference.
export const BUSY_FLOW = [
  { id: 'b-tab', type: 'tab', label: 'bench' },
  { id: 'b-in', z: 'b-tab', type: 'http in', url: '/work', method: 'get', wires: [['b-fan']] },
  {
    id: 'b-fan', z: 'b-tab', type: 'function', name: 'fan out', outputs: 1, wires: [['b-work']],
    func: [
      'const n = Number(msg.req.query.n) || 1, log = msg.req.query.log === "1";',
      'for (let i = 0; i < n; i++) node.send(i === n - 1 ? { payload: i, n, log, req: msg.req, res: msg.res } : { payload: i, n, log });',
      'return null;',
    ].join('\n'),
  },
  {
    id: 'b-work', z: 'b-tab', type: 'function', name: 'work', outputs: 1, wires: [['b-out']],
    func: [
      'const order = { id: msg.payload, lines: [msg.payload % 7, msg.payload % 11], total: msg.payload * 1.5 };',
      'msg.total = JSON.parse(JSON.stringify(order)).total;',
      'if (msg.log) node.warn(`order ${order.id} total ${msg.total}`);',
      'return msg.payload === msg.n - 1 ? msg : null;',
    ].join('\n'),
  },
  { id: 'b-out', z: 'b-tab', type: 'http response', wires: [] },
];
