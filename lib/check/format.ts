import type { CheckReport, Finding } from './types';

/** Version of the `--json` format; bumped only for incompatible changes. */
export const JSON_FORMAT_VERSION = 1;

const GLOBAL_GROUP = 'Global configuration nodes';

/** The one-line summary, e.g. `1204 nodes checked: 2 errors, 1 warning, 3 info`. */
export function summaryLine(report: CheckReport): string {
  const { nodes, errors, warnings, infos } = report.summary;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(nodes, 'node')} checked: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${infos} info`;
}

/**
 * Human-readable report: findings grouped by tab (in the report's order), each with what
 * happens in HA and the fix, then the summary line.
 */
export function formatText(report: CheckReport): string {
  const groups = new Map<string, Finding[]>();
  for (const finding of report.findings) {
    const key = finding.tab ?? GLOBAL_GROUP;
    const list = groups.get(key);
    if (list) list.push(finding);
    else groups.set(key, [finding]);
  }
  const lines: string[] = [];
  for (const [tab, findings] of groups) {
    lines.push(tab === GLOBAL_GROUP ? tab : tab.startsWith('subflow: ') ? `Subflow: ${tab.slice(9)}` : `Tab: ${tab}`);
    for (const f of findings) {
      const label = f.name ? `${f.type} "${f.name}"` : f.type;
      lines.push(`  ${f.severity.toUpperCase().padEnd(7)} ${f.rule}  ${label} [${f.nodeId}]`);
      lines.push(`          ${f.message}`);
      lines.push(`          fix: ${f.fix}`);
    }
    lines.push('');
  }
  if (report.findings.length === 0) lines.push('No HA issues found.');
  lines.push(summaryLine(report));
  return lines.join('\n') + '\n';
}

/**
 * The stable machine format of `check --json`: every finding has every key (absent name/tab
 * are null), keys in a fixed order.
 */
export function formatJson(report: CheckReport, file?: string): string {
  return JSON.stringify({
    version: JSON_FORMAT_VERSION,
    file: file ?? null,
    summary: report.summary,
    findings: report.findings.map((f) => ({
      severity: f.severity, rule: f.rule, nodeId: f.nodeId, type: f.type,
      name: f.name ?? null, tab: f.tab ?? null, message: f.message, fix: f.fix,
    })),
  }, null, 2) + '\n';
}
