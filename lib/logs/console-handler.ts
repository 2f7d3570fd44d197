import { formatJsonLine, formatTextLine, NodeRedLogEvent } from './console-line';

/**
 * A Node-RED `logging.console.handler` factory: Node-RED calls it with the logger's settings and
 * feeds the returned function every event at or above the configured level.
 */
export function replicaConsoleHandler(replica: string, format: 'text' | 'json') {
  return () => (event: NodeRedLogEvent): void => {
    const line = format === 'json' ? formatJsonLine(event, replica) : formatTextLine(event, replica);
    process.stdout.write(line + '\n');
  };
}
