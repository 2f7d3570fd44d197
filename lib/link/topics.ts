/**
 * Project link topic scheme, shared with FlowFuse's project nodes so both can talk over one broker:
 *
 *   ff/v1/<team>/p/<instance>/in/<topic>       direct: sent to <instance>
 *   ff/v1/<team>/p/<instance>/out/<topic>      broadcast from <instance> (`+` for every source)
 *   ff/v1/<team>/p/<instance>/<res…>/<topic>   call replies to <instance>; `res` or `res-<token>`
 *
 * Pure functions: no I/O, so the rules are unit-tested without a broker.
 */
import { ID_PATTERN } from '../config';
import { LinkConfigError } from './errors';

export const TOPIC_HEADER = 'ff';
export const TOPIC_VERSION = 'v1';
/** The in-node `project` value that listens to broadcasts from every source. */
export const ALL_SOURCES = 'all';

/**
 * A user's sub-topic: one or more non-empty levels, none holding MQTT wildcards, `$`, control
 * characters or whitespace (FlowFuse rejects the same characters, so a flow valid in one is valid
 * in the other).
 */
const SUB_TOPIC_LEVEL = /^[^/$+#\s\0]+$/;
/** `res` or `res-<token>`: the reply level a caller puts in its call stack. */
const RESPONSE_LEVEL = /^res(-[A-Za-z0-9_]{1,64})?$/;

export type LinkKind = 'in' | 'out' | 'res';

export interface ParsedLinkTopic {
  team: string;
  /** The instance the topic belongs to: target for `in` and `res`, source for `out`. */
  instance: string;
  kind: LinkKind;
  /** The reply level (`res`, `res-…`) for `res` topics. */
  level: string;
  subTopic: string;
}

/** Why `subTopic` is not usable, or undefined when it is. */
export function subTopicProblem(subTopic: unknown): string | undefined {
  if (typeof subTopic !== 'string' || subTopic === '') return 'topic is empty';
  if (Buffer.byteLength(subTopic) > 4096) return 'topic is longer than 4096 bytes';
  const bad = subTopic.split('/').find((level) => !SUB_TOPIC_LEVEL.test(level));
  if (bad === undefined) return undefined;
  if (bad === '') return `topic ${JSON.stringify(subTopic)} has an empty level (leading, trailing or double "/")`;
  return `topic ${JSON.stringify(subTopic)} contains a character not allowed in a link topic (+ # $ or whitespace)`;
}

export function checkSubTopic(subTopic: unknown): string {
  const problem = subTopicProblem(subTopic);
  if (problem) throw new LinkConfigError(problem);
  return subTopic as string;
}

export function checkId(what: string, id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new LinkConfigError(`${what} must be 1-64 characters of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(id ?? '')}`);
  }
  return id;
}

function build(team: string, instance: string, level: string, subTopic: string): string {
  return [TOPIC_HEADER, TOPIC_VERSION, checkId('team', team), 'p', instance, level, checkSubTopic(subTopic)].join('/');
}

/** Where a message for `target` on `subTopic` goes (and where `target` listens). */
export function directTopic(team: string, target: string, subTopic: string): string {
  return build(team, checkId('target instance', target), 'in', subTopic);
}

/** Where `source` broadcasts `subTopic`; `source` = {@link ALL_SOURCES} gives the subscription for every source. */
export function broadcastTopic(team: string, source: string, subTopic: string): string {
  return build(team, source === ALL_SOURCES ? '+' : checkId('source instance', source), 'out', subTopic);
}

/** Where replies to calls made by `caller` arrive; `level` is `res` or `res-<token>`. */
export function responseTopic(team: string, caller: string, level: string, subTopic: string): string {
  if (!RESPONSE_LEVEL.test(level)) throw new LinkConfigError(`reply level must be "res" or "res-<token>", got ${JSON.stringify(level)}`);
  return build(team, checkId('caller instance', caller), level, subTopic);
}

/** The shared-subscription form: each message goes to one member of `group`. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${checkId('share group', group)}/${filter}`;
}

/** The topic filter a subscription really matches, without any `$share/<group>/` prefix. */
export function unshared(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  return filter.split('/').slice(2).join('/');
}

/** Parses a link topic a message arrived on; undefined when it is not one. */
export function parseLinkTopic(topic: string): ParsedLinkTopic | undefined {
  const parts = topic.split('/');
  if (parts.length < 7 || parts[0] !== TOPIC_HEADER || parts[1] !== TOPIC_VERSION || parts[3] !== 'p') return undefined;
  const level = parts[5];
  const kind: LinkKind | undefined = level === 'in' ? 'in' : level === 'out' ? 'out' : RESPONSE_LEVEL.test(level) ? 'res' : undefined;
  if (!kind) return undefined;
  const subTopic = parts.slice(6).join('/');
  if (subTopicProblem(subTopic)) return undefined;
  return { team: parts[2], instance: parts[4], kind, level, subTopic };
}

/** MQTT topic-filter matching (`+` one level, `#` the rest), for brokers that omit subscription identifiers. */
export function filterMatches(filter: string, topic: string): boolean {
  const f = unshared(filter).split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
