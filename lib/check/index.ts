/**
 * The HA-readiness check: which parts of a Node-RED flows export behave differently when the
 * flows run as several replicas. Pure logic; readFlowsFile is the only function doing I/O.
 */
export type { Severity, Finding, CheckReport, CheckOptions } from './types';
export { checkFlows } from './runner';
export { formatText, formatJson, summaryLine, JSON_FORMAT_VERSION } from './format';
export { readFlowsFile } from './read';
export { FlowsFileError } from '../errors';
