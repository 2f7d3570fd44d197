import { NodeRed } from '../harness/node-red';

/**
 * A flow that logs on request: GET /log?tag=&n=&level=warn|error|info logs "<tag> n=<n> from <replica>"
 * from a function node; GET /burst?tag=&count= logs `count` warnings at once.
 */
export const LOGGING_FLOW = [
  { id: 'tab1', type: 'tab', label: 'Logging' },
  { id: 'in-log', z: 'tab1', type: 'http in', url: '/log', method: 'get', wires: [['fn-log']] },
  {
    id: 'fn-log', z: 'tab1', type: 'function', name: 'logger', outputs: 1, wires: [['out-log']],
    func: [
      'const q = msg.req.query;',
      'const text = q.raw !== undefined ? q.raw : `${q.tag} n=${q.n} from ${env.get("NR_HA_REPLICA")}`;',
      'if (q.level === "error") node.error(text); else if (q.level === "info") node.log(text); else node.warn(text);',
      'msg.payload = "ok";',
      'return msg;',
    ].join('\n'),
  },
  { id: 'out-log', z: 'tab1', type: 'http response', wires: [] },
  { id: 'in-burst', z: 'tab1', type: 'http in', url: '/burst', method: 'get', wires: [['fn-burst']] },
  {
    id: 'fn-burst', z: 'tab1', type: 'function', name: 'burst', outputs: 1, wires: [['out-burst']],
    func: 'for (let i = 0; i < Number(msg.req.query.count); i++) node.warn(`${msg.req.query.tag} burst ${i}`);\nmsg.payload = "ok";\nreturn msg;',
  },
  { id: 'out-burst', z: 'tab1', type: 'http response', wires: [] },
];

/** Starts `count` replicas of one instance sharing `redisUrl` (none: each on its own), with extra env and settings. */
export async function startReplicas(
  instance: string, count: number, redisUrl?: string, env: Record<string, string> = {}, settings: Record<string, unknown> = {},
): Promise<NodeRed[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => NodeRed.start({
    name: `${instance}-${i + 1}`,
    flows: LOGGING_FLOW,
    env: {
      NR_HA_ENABLED: 'true',
      NR_HA_INSTANCE: instance,
      NR_HA_REPLICA: `${instance}-${i + 1}`,
      ...(redisUrl ? { NR_HA_REDIS_URL: redisUrl } : {}),
      ...env,
    },
    settings,
    waitFor: /Started flows/,
  })));
}
