import { FlowsFileError } from '../errors';
import type { FlowNode } from './types';

/**
 * Accepts what Node-RED and node-red-ha produce: a plain array of nodes (flows.json, an editor
 * export) or an object with a `flows` array (`{flows, credentials}`, `{flows, rev}`, a snapshot).
 */
export function toNodeList(value: unknown): FlowNode[] {
  let list: unknown = value;
  if (!Array.isArray(value)) {
    if (value === null || typeof value !== 'object' || !('flows' in value)) {
      throw new FlowsFileError(`not a Node-RED flows export: expected an array of nodes or an object with a "flows" array, got ${kind(value)}`);
    }
    list = (value as { flows: unknown }).flows;
    if (!Array.isArray(list)) {
      throw new FlowsFileError(`not a Node-RED flows export: "flows" must be an array of nodes, got ${kind(list)}`);
    }
  }
  const nodes = list as unknown[];
  const seen = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      throw new FlowsFileError(`node ${i} is not an object (got ${kind(node)})`);
    }
    const { id, type } = node as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') throw new FlowsFileError(`node ${i} has no "id" (every node needs a non-empty string id)`);
    if (typeof type !== 'string' || type === '') throw new FlowsFileError(`node ${i} (id "${id}") has no "type"`);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new FlowsFileError(`nodes ${earlier} and ${i} have the same id "${id}"`);
    seen.set(id, i);
  }
  return nodes as FlowNode[];
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A tab or a subflow definition: what a node's `z` points at. */
export interface Container {
  /** How findings name it: the tab label, or `subflow: <name>`. */
  label: string;
  /** Sort position: tabs in file order, then subflows in file order. */
  order: number;
  /** False for a disabled tab and for a subflow no running node instantiates. */
  active: boolean;
}

export interface FlowIndex {
  byId: Map<string, FlowNode>;
  containers: Map<string, Container>;
}

/**
 * One pass over the nodes: ids, tabs, subflows, and which subflows actually run (instantiated
 * by an enabled node on an enabled tab, or inside a subflow that runs).
 */
export function indexFlows(nodes: FlowNode[]): FlowIndex {
  const byId = new Map<string, FlowNode>();
  const tabs: FlowNode[] = [];
  const subflows: FlowNode[] = [];
  const instances: FlowNode[] = [];
  for (const node of nodes) {
    byId.set(node.id, node);
    if (node.type === 'tab') tabs.push(node);
    else if (node.type === 'subflow') subflows.push(node);
    else if (node.type.startsWith('subflow:') && node.d !== true) instances.push(node);
  }

  const containers = new Map<string, Container>();
  const labelCount = new Map<string, number>();
  const tabLabel = (tab: FlowNode) => (typeof tab.label === 'string' && tab.label !== '' ? tab.label : tab.id);
  for (const tab of tabs) labelCount.set(tabLabel(tab), (labelCount.get(tabLabel(tab)) ?? 0) + 1);
  tabs.forEach((tab, i) => {
    const label = tabLabel(tab);
    containers.set(tab.id, {
      // Two tabs with one label would merge in the report; the id tells them apart.
      label: labelCount.get(label)! > 1 ? `${label} (${tab.id})` : label,
      order: i,
      active: tab.disabled !== true,
    });
  });
  subflows.forEach((subflow, i) => {
    const name = typeof subflow.name === 'string' && subflow.name !== '' ? subflow.name : subflow.id;
    containers.set(subflow.id, { label: `subflow: ${name}`, order: tabs.length + i, active: false });
  });

  // Mark running subflows until nothing changes; nesting is shallow, so this is a few rounds.
  let changed = true;
  while (changed) {
    changed = false;
    for (const instance of instances) {
      const target = containers.get(instance.type.slice('subflow:'.length));
      if (!target || target.active) continue;
      const parent = typeof instance.z === 'string' ? containers.get(instance.z) : undefined;
      if (parent === undefined || parent.active) {
        target.active = true;
        changed = true;
      }
    }
  }
  return { byId, containers };
}

/** Whether the node runs: not disabled itself, and its tab or subflow runs. */
export function isRunning(node: FlowNode, index: FlowIndex): boolean {
  if (node.d === true) return false;
  if (typeof node.z !== 'string' || node.z === '') return true;
  const container = index.containers.get(node.z);
  return container === undefined || container.active;
}
