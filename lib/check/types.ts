/** How much a finding matters when the flows run as several replicas. */
export type Severity = 'error' | 'warning' | 'info';

/** One thing in a flows file that behaves differently (or notably the same) under HA. */
export interface Finding {
  /** error: breaks or duplicates work in HA; warning: behaves differently; info: fine, a note. */
  severity: Severity;
  /** Stable rule id, e.g. `mqtt-unshared` (see the README's rule table). */
  rule: string;
  /** Id of the node the finding is about. */
  nodeId: string;
  /** That node's type, e.g. `mqtt in`. */
  type: string;
  /** The node's name, when it has one. */
  name?: string;
  /** Label (or id) of the tab the node is on; `subflow: <name>` inside a subflow; absent for global config nodes. */
  tab?: string;
  /** What happens when the flows run as several replicas. */
  message: string;
  /** How to fix it (or why nothing needs fixing). */
  fix: string;
}

export interface CheckReport {
  /** Sorted by tab (file order; subflows after tabs, global config nodes last), then severity, then file order. */
  findings: Finding[];
  /** `nodes` counts every entry of the flows file (tabs, subflows and config nodes included). */
  summary: { nodes: number; errors: number; warnings: number; infos: number };
}

export interface CheckOptions {
  /**
   * Node types whose output node-red-ha lets only the leader emit (NR_HA_SINGLETON_TYPES of the
   * replicas the flows will run on).
   * @default ["inject"]
   */
  singletonTypes?: string[];
}

/** A node of a flows export: any object with a string id and type. */
export interface FlowNode {
  id: string;
  type: string;
  [property: string]: unknown;
}
