import type { RuleGroup } from '../rule';
import { context } from './context';
import { files } from './files';
import { listeners } from './listeners';
import { mqtt } from './mqtt';
import { projectLink } from './project-link';
import { schedule } from './schedule';
import { stateful } from './stateful';

/** Every rule group the check runs; a node type may be looked at by several groups. */
export const RULE_GROUPS: readonly RuleGroup[] = [schedule, stateful, context, mqtt, listeners, files, projectLink];
