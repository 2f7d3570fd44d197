import { redactUrl } from '../config';

/** How the replicas get a Redis or an MQTT broker. */
export type ServicePlan =
  | { kind: 'given'; url: string }
  | { kind: 'private'; binary: string }
  | { kind: 'off' };

export interface ServicePlans {
  redis: ServicePlan;
  mqtt: ServicePlan;
}

/**
 * A URL from the environment wins; otherwise a private server when its binary is found and
 * private servers are allowed; otherwise the feature is off.
 */
export function planServices(
  options: { redisUrl?: string; mqttUrl?: string; privateServers: boolean },
  findBinary: (name: string) => string | undefined,
): ServicePlans {
  const plan = (url: string | undefined, binaryName: string): ServicePlan => {
    if (url) return { kind: 'given', url };
    const binary = options.privateServers ? findBinary(binaryName) : undefined;
    return binary ? { kind: 'private', binary } : { kind: 'off' };
  };
  return { redis: plan(options.redisUrl, 'redis-server'), mqtt: plan(options.mqttUrl, 'mosquitto') };
}

/** One start-up line per service: where it comes from, or which features are off and why. */
export function describeServices(plans: ServicePlans, privateServers: boolean): Array<{ level: 'info' | 'warn'; text: string }> {
  const why = (variable: string, binary: string, apt: string) => privateServers
    ? `${variable} is not set and ${binary} is not on the PATH (apt-get install ${apt})`
    : `${variable} is not set and --no-private-servers was given`;
  const line = (plan: ServicePlan, variable: string, binary: string, apt: string, offText: string) => {
    if (plan.kind === 'given') return { level: 'info' as const, text: `${variable}: ${redactUrl(plan.url)}` };
    if (plan.kind === 'private') return { level: 'info' as const, text: `${variable} not set: starting a private ${binary}` };
    return { level: 'warn' as const, text: `${offText}: ${why(variable, binary, apt)}` };
  };
  return [
    line(plans.redis, 'NR_HA_REDIS_URL', 'redis-server', 'redis-server',
      'shared context, leader election (every replica runs inject nodes), flow storage and combined logs are off'),
    line(plans.mqtt, 'NR_HA_MQTT_URL', 'mosquitto', 'mosquitto',
      'project link nodes have no broker of their own (they try mqtt://localhost:1883)'),
  ];
}
