/** A log event as Node-RED's logger hands it to every handler. */
export interface NodeRedLogEvent {
  level: number;
  msg?: unknown;
  type?: string;
  name?: string;
  id?: string;
  timestamp?: number;
  [key: string]: unknown;
}

export const LEVEL_NAMES: Record<number, string> = {
  10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace', 98: 'audit', 99: 'metric',
};
export const METRIC_LEVEL = 99;
export const AUDIT_LEVEL = 98;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The message text Node-RED's own console logger would print. */
export function messageText(event: NodeRedLogEvent): string {
  if (event.level === METRIC_LEVEL || event.level === AUDIT_LEVEL) {
    return JSON.stringify(event);
  }
  const message = event.msg;
  if (message instanceof Error) return message.message;
  if (typeof message === 'string') return message;
  if (message && typeof message === 'object' && typeof (message as { message?: unknown }).message === 'string') {
    return (message as { message: string }).message;
  }
  try {
    return typeof message === 'object' ? JSON.stringify(message) : String(message);
  } catch {
    return String(message);
  }
}

/**
 * One console line in Node-RED's usual text layout, with the replica id right after the level:
 * `29 Nov 18:02:11 - [info] [replica-1] [inject:tick] message`.
 */
export function formatTextLine(event: NodeRedLogEvent, replica: string, now = new Date(event.timestamp ?? Date.now())): string {
  const time = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const level = LEVEL_NAMES[event.level] ?? String(event.level);
  const source = event.type ? `[${event.type}:${event.name || event.id}] ` : '';
  return `${now.getDate()} ${MONTHS[now.getMonth()]} ${time} - [${level}] [${replica}] ${source}${messageText(event)}`;
}

/** One console line as a JSON object, for log collectors (NR_HA_LOG_FORMAT=json). */
export function formatJsonLine(event: NodeRedLogEvent, replica: string): string {
  const line: Record<string, unknown> = {
    time: new Date(event.timestamp ?? Date.now()).toISOString(),
    level: LEVEL_NAMES[event.level] ?? event.level,
    replica,
    msg: messageText(event),
  };
  if (event.type) line.type = event.type;
  if (event.name) line.name = event.name;
  if (event.id) line.id = event.id;
  return JSON.stringify(line);
}
