/**
 * Settings for a Node-RED that runs FlowFuse's published project nodes (@flowfuse/nr-project-nodes,
 * a dev dependency) instead of ours, for interoperability tests on one broker. Node-RED finds that
 * module beside its own installation (the repository's node_modules); node-red-ha is excluded so
 * the two packages' node types do not collide.
 */
export interface FlowFuseOptions {
  /** FlowFuse's projectID: the instance id in link topics. */
  instance: string;
  team: string;
  brokerUrl: string;
}

export function flowFuseSettings({ instance, team, brokerUrl }: FlowFuseOptions): Record<string, unknown> {
  return {
    nodesExcludes: ['node-red-ha'],
    contextStorage: { default: { module: 'memory' } },
    flowforge: {
      projectID: instance,
      teamID: team,
      // Nothing listens here: its instance-list lookups fail fast and only set a warning status.
      forgeURL: 'http://127.0.0.1:9',
      projectLink: {
        featureEnabled: true,
        useSharedSubscriptions: false,
        token: 'unused',
        broker: { url: brokerUrl, username: `ff-${instance}`, password: '' },
      },
    },
  };
}
