/** One node of a flows file: every entry has an id and a type; the rest belongs to the node. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  [property: string]: unknown;
}

/** Node-RED's credentials file: `{"$": "<encrypted>"}`, or node id -> values when encryption is off. */
export type Credentials = Record<string, unknown>;

/** Flows and credentials as one unit: what a revision holds and a push carries. */
export interface Snapshot {
  flows: FlowNode[];
  credentials: Credentials;
}
