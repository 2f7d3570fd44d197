import { DEFAULT_SINGLETON_TYPES } from '../config/options';
import { indexFlows, isRunning, toNodeList, type FlowIndex } from './flows';
import type { RuleContext, RuleGroup, Verdict } from './rule';
import { RULE_GROUPS } from './rules';
import type { CheckOptions, CheckReport, Finding, FlowNode, Severity } from './types';

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

interface Placed {
  finding: Finding;
  /** Tab/subflow sort position; global config nodes sort last. */
  group: number;
  /** Position of the node in the file. */
  position: number;
}

/**
 * Checks a Node-RED flows export (an array of nodes, or `{flows: [...]}`) for what behaves
 * differently when it runs as several replicas. Pure: no I/O, same input, same report.
 * Throws FlowsFileError when the value is not a flows export.
 */
export function checkFlows(flows: unknown, options: CheckOptions = {}): CheckReport {
  const nodes = toNodeList(flows);
  const index = indexFlows(nodes);
  const positions = new Map<string, number>();
  nodes.forEach((node, i) => positions.set(node.id, i));
  const singletons = new Set(options.singletonTypes ?? DEFAULT_SINGLETON_TYPES);

  const placed: Placed[] = [];
  const reported = new Set<string>();
  const ctx: RuleContext = {
    node: (id) => (typeof id === 'string' ? index.byId.get(id) : undefined),
    isRunning: (node) => isRunning(node, index),
    isSingleton: (type) => singletons.has(type),
    report(node: FlowNode, verdict: Verdict) {
      const key = `${verdict.rule}\u0000${node.id}`;
      if (reported.has(key)) return;
      reported.add(key);
      placed.push(place(node, verdict, index, positions.get(node.id) ?? 0));
    },
  };

  const groupsFor = dispatcher();
  for (const node of nodes) {
    const groups = groupsFor(node.type);
    if (groups.length === 0 || !isRunning(node, index)) continue;
    for (const group of groups) group.check(node, ctx);
  }

  placed.sort((a, b) => a.group - b.group
    || SEVERITY_RANK[a.finding.severity] - SEVERITY_RANK[b.finding.severity]
    || a.position - b.position);
  const findings = placed.map((p) => p.finding);
  const count = (severity: Severity) => findings.filter((f) => f.severity === severity).length;
  return {
    findings,
    summary: { nodes: nodes.length, errors: count('error'), warnings: count('warning'), infos: count('info') },
  };
}

/** Rule groups by node type, resolved once per distinct type. */
function dispatcher(): (type: string) => readonly RuleGroup[] {
  const cache = new Map<string, RuleGroup[]>();
  return (type) => {
    let groups = cache.get(type);
    if (!groups) {
      groups = RULE_GROUPS.filter((g) => g.types.includes(type) || g.matches?.(type) === true);
      cache.set(type, groups);
    }
    return groups;
  };
}

function place(node: FlowNode, verdict: Verdict, index: FlowIndex, position: number): Placed {
  const container = typeof node.z === 'string' && node.z !== '' ? index.containers.get(node.z) : undefined;
  const tab = container?.label ?? (typeof node.z === 'string' && node.z !== '' ? node.z : undefined);
  const name = typeof node.name === 'string' && node.name.trim() !== '' ? node.name : undefined;
  const finding: Finding = {
    severity: verdict.severity, rule: verdict.rule, nodeId: node.id, type: node.type,
    ...(name !== undefined && { name }), ...(tab !== undefined && { tab }),
    message: verdict.message, fix: verdict.fix,
  };
  return {
    finding,
    group: container ? container.order : tab !== undefined ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER,
    position,
  };
}
