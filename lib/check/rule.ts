import type { FlowNode, Severity } from './types';

/** What a rule says about a node; the runner adds the node's id, type, name and tab. */
export interface Verdict {
  severity: Severity;
  rule: string;
  message: string;
  fix: string;
}

/** What rules can see besides the node they check. */
export interface RuleContext {
  /** The node with this id, if the value is a known id (config references, wires). */
  node(id: unknown): FlowNode | undefined;
  /** Whether a node runs (not disabled, on an enabled tab or a subflow that is used). */
  isRunning(node: FlowNode): boolean;
  /** Whether node-red-ha lets only the leader emit this type's output. */
  isSingleton(type: string): boolean;
  /** Records a finding about `node`; a second finding of the same rule for the same node is dropped. */
  report(node: FlowNode, verdict: Verdict): void;
}

/** The rules about one concern (schedules, state, MQTT, ...), each run once per running node of its types. */
export interface RuleGroup {
  /** Node types checked, matched exactly. */
  types: readonly string[];
  /** Further types, for families such as dashboard widgets. */
  matches?(type: string): boolean;
  check(node: FlowNode, ctx: RuleContext): void;
}

/** A node property as non-empty text, or undefined. Numbers count (flows store some as either). */
export function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Node-RED stores some flags as booleans and some as "true"/"false" strings. */
export function flag(value: unknown): boolean {
  return value === true || value === 'true';
}

/** `${VAR}` as a whole property value: Node-RED replaces it with the environment variable. */
export function envReference(value: string): string | undefined {
  return /^\$\{(\S+)\}$/.exec(value)?.[1];
}
