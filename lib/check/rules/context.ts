import { findContextCalls } from '../context-calls';
import { text, type RuleGroup } from '../rule';
import type { FlowNode } from '../types';

/** Stores that are shared between replicas under withHA: `ha` itself, and the default alias. */
const SHARED = new Set(['ha']);
const DEFAULT_NAMES = new Set([undefined, 'default', '_']);

interface ContextUse {
  /** Non-shared stores named explicitly, e.g. `memory`, `file`. */
  localStores: Set<string>;
  /** What uses the default store, e.g. `flow.set`. */
  viaDefault: Set<string>;
}

/**
 * Context use. withHA adds the Redis-backed `ha` store and makes it the default unless
 * settings.js configures contextStorage itself; any other store named in the flows is local to
 * each replica.
 */
export const context: RuleGroup = {
  types: ['function', 'change'],
  check(node, ctx) {
    const use = node.type === 'function' ? functionUse(node) : changeUse(node);
    if (use.localStores.size > 0) {
      const stores = [...use.localStores].map((s) => `"${s}"`).join(', ');
      ctx.report(node, {
        severity: 'warning', rule: 'memory-context',
        message: `Uses the context store ${stores}, which lives on each replica: replicas read different values, and what one writes the others never see (and it is lost when that replica restarts).`,
        fix: 'Use the shared "ha" store: name it in the call, e.g. flow.get("key", "ha") and flow.set("key", value, "ha"), or choose it in the change node\'s context store menu.',
      });
    } else if (use.viaDefault.size > 0) {
      ctx.report(node, {
        severity: 'info', rule: 'default-context',
        message: `Uses the default context store (${[...use.viaDefault].join(', ')}): under withHA that is the shared "ha" store, so every replica sees the same values, unless settings.js configures contextStorage itself.`,
        fix: 'Nothing to do with withHA\'s default store. If settings.js sets contextStorage, name the "ha" store in the calls. A get followed by a set is not atomic: two replicas can overwrite each other\'s update.',
      });
    }
  },
};

function functionUse(node: FlowNode): ContextUse {
  const use: ContextUse = { localStores: new Set(), viaDefault: new Set() };
  for (const property of ['func', 'initialize', 'finalize']) {
    const code = node[property];
    if (typeof code !== 'string' || code === '') continue;
    for (const call of findContextCalls(code)) note(use, call.store, `${call.scope}.${call.method}`);
  }
  return use;
}

/** Change node rules writing flow/global context: set, change, delete, and move (both ends). */
function changeUse(node: FlowNode): ContextUse {
  const use: ContextUse = { localStores: new Set(), viaDefault: new Set() };
  if (!Array.isArray(node.rules)) return use;
  for (const rule of node.rules as Array<Record<string, unknown>>) {
    if (rule === null || typeof rule !== 'object') continue;
    const targets: Array<[unknown, unknown]> = [[rule.pt, rule.p]];
    if (rule.t === 'move') targets.push([rule.tot, rule.to]);
    for (const [scope, property] of targets) {
      if (scope !== 'flow' && scope !== 'global') continue;
      note(use, /^#:\((.+?)\)::/.exec(text(property) ?? '')?.[1], `${scope} ${rule.t ?? 'set'}`);
    }
  }
  return use;
}

function note(use: ContextUse, store: string | undefined, what: string): void {
  if (DEFAULT_NAMES.has(store)) use.viaDefault.add(what);
  else if (!SHARED.has(store!)) use.localStores.add(store!);
}
