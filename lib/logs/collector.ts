import { EventEmitter } from 'node:events';
import type { NodeRedLogEvent } from './console-line';
import { entryFromEvent, LevelName } from './entry';
import type { LocalLogRing } from './ring';
import type { LogShipper } from './shipper';

export interface LogCollectorOptions {
  /** This replica's id, put on every entry. */
  replica: string;
  /** Least severe level kept (Node-RED's console level, so the combined log shows what the console shows). */
  threshold: LevelName;
  /** Keeps this replica's recent entries for GET /ha/logs without Redis. */
  ring: LocalLogRing;
  /** Ships entries to Redis; absent without NR_HA_REDIS_URL. */
  shipper?: LogShipper;
}

/** A handler for RED.log.addHandler: Node-RED emits "log" on it for every event, metric and audit ones too. */
export function logCollector(options: LogCollectorOptions): EventEmitter {
  const handler = new EventEmitter();
  handler.on('log', (event: NodeRedLogEvent) => {
    try {
      const entry = entryFromEvent(event, options.replica, options.threshold);
      if (!entry) return;
      options.ring.push(entry);
      options.shipper?.enqueue(entry);
    } catch {
      // An exception here would propagate into whatever code called RED.log; the console
      // handler still prints the line, so losing it from the combined log is the lesser harm.
    }
  });
  return handler;
}
