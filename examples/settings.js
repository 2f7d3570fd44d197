// settings.js for node-red-ha: your usual Node-RED settings, wrapped with withHA.
// With NR_HA_ENABLED unset the same file runs an ordinary development Node-RED (editor on);
// with NR_HA_ENABLED=true, NR_HA_INSTANCE and NR_HA_REDIS_URL it runs one replica of an HA
// instance (editor locked, shared context store `ha`, leader election, replica-tagged logs).
module.exports = require('node-red-ha').withHA({
  flowFile: 'flows.json',
  // Every replica must decrypt the same credentials: give them all the same secret.
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,
  // Replicas sit behind a proxy or a Kubernetes Service; uiPort/uiHost stay overridable.
  uiPort: Number(process.env.PORT) || 1880,
  logging: { console: { level: process.env.NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false } },
});
