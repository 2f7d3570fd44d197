export { withHA } from './settings/with-ha';
export { loadConfig, parseConfig } from './config';
export type { HAConfig, HASettingsBlock } from './config';
export { HAError, ConfigError } from './errors';
export { checkFlows, FlowsFileError } from './check';
export type { CheckReport, CheckOptions, Finding, Severity } from './check';
