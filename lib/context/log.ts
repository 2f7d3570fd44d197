/** Where the context store logs; Node-RED's log once the plugin has started, the console before. */
export interface ContextLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const consoleLog: ContextLog = {
  info: (msg) => console.log(msg),
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
};

let current: ContextLog = consoleLog;

/** Node-RED loads context stores apart from plugins; the plugin hands its log over here. */
export function setContextLog(log: ContextLog): void {
  current = log;
}

export function contextLog(): ContextLog {
  return current;
}
