import { text, type RuleGroup } from '../rule';
import type { FlowNode } from '../types';

/**
 * Nodes that touch the local file system. Each replica has its own (a pod's disk), or they share
 * a volume and then act on the same files at once.
 */
export const files: RuleGroup = {
  types: ['file', 'file in', 'watch', 'tail'],
  check(node, ctx) {
    const where = describePath(node);
    if (node.type === 'file') {
      ctx.report(node, {
        severity: 'error', rule: 'local-file-write',
        message: `Writes ${where} on the replica's own disk: each replica writes only its share of the data to its own copy (in Kubernetes lost with the pod), or, on a shared volume, several replicas write the same file at once.`,
        fix: 'Write to a shared store (a database, object storage, the shared "ha" context), or send the data with a project link to one instance outside the HA set that owns the file.',
      });
    } else if (node.type === 'file in') {
      ctx.report(node, {
        severity: 'warning', rule: 'local-file-read',
        message: `Reads ${where} from the replica's own disk: every replica needs the same file there, or replicas answer differently (and a file written by one replica is missing on the others).`,
        fix: 'Ship the file in the image or mount it read-only on every replica; keep data that changes in a shared store.',
      });
    } else {
      ctx.report(node, {
        severity: 'warning', rule: 'local-file-read',
        message: `Watches ${where} on every replica: a change on a shared volume starts the flow once per replica, and a change on one replica's disk is seen by that replica only.`,
        fix: 'Wire its output into an "ha gate" node so only the leader reacts, with the files on a volume every replica mounts.',
      });
    }
  },
};

function describePath(node: FlowNode): string {
  const path = node.type === 'watch' ? text(node.files) : text(node.filename);
  const type = text(node.filenameType) ?? 'str';
  if (path === undefined) return 'the file named in msg.filename';
  if (type === 'str') return `"${path}"`;
  if (type === 'msg') return `the file named in msg.${path}`;
  return `the file named by ${type} "${path}"`;
}
