// The launcher already finds free ports for its replicas; the harness uses the same function.
export { freePort } from '../../lib/launcher/private-servers';
