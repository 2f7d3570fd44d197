import { Counter, Gauge } from 'prom-client';
import { haMetrics } from '../metrics/registry';

/** Project link metrics on the process registry (served at GET /ha/metrics). */
export const linkMetrics = {
  connected: new Gauge({ name: 'nrha_link_connected', help: 'Whether the project link MQTT connection is up (1) or not (0)', registers: [haMetrics] }),
  queueDepth: new Gauge({ name: 'nrha_link_queue_messages', help: 'Project link messages waiting for the broker or its acknowledgement', registers: [haMetrics] }),
  queueBytes: new Gauge({ name: 'nrha_link_queue_bytes', help: 'Payload bytes of the project link messages waiting for the broker', registers: [haMetrics] }),
  sent: new Counter({ name: 'nrha_link_messages_sent_total', help: 'Project link messages the broker acknowledged', registers: [haMetrics] }),
  received: new Counter({ name: 'nrha_link_messages_received_total', help: 'Project link messages received from the broker', registers: [haMetrics] }),
  retries: new Counter({ name: 'nrha_link_publish_retries_total', help: 'Project link publishes sent again after a transient refusal or a lost connection', labelNames: ['reason'], registers: [haMetrics] }),
  failures: new Counter({ name: 'nrha_link_publish_failures_total', help: 'Project link messages reported to their node as not delivered, by reason', labelNames: ['reason'], registers: [haMetrics] }),
};
