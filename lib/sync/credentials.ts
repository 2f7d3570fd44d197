import { createDecipheriv, createHash } from 'node:crypto';

/**
 * How this instance encrypts credentials, read from its settings the way Node-RED does
 * (@node-red/runtime/lib/nodes/credentials.js): `credentialSecret` false means plain text, a string
 * is the user's key, otherwise Node-RED generated a per-installation `_credentialSecret`.
 */
export type CredentialKey =
  | { kind: 'disabled' }
  | { kind: 'user'; key: Buffer }
  | { kind: 'generated'; key: Buffer }
  | { kind: 'none' };

export function credentialKey(get: (name: string) => unknown): CredentialKey {
  const user = safeGet(get, 'credentialSecret');
  if (user === false) return { kind: 'disabled' };
  if (typeof user === 'string' && user !== '') return { kind: 'user', key: sha256(user) };
  const generated = safeGet(get, '_credentialSecret');
  if (typeof generated === 'string' && generated !== '') return { kind: 'generated', key: sha256(generated) };
  return { kind: 'none' };
}

/** Node-RED's format: `{"$": <32 hex chars of IV><base64 aes-256-ctr ciphertext of the JSON>}`. */
export function decryptCredentials(key: Buffer, encrypted: string): Record<string, unknown> {
  const iv = Buffer.from(encrypted.substring(0, 32), 'hex');
  if (iv.length !== 16) throw new Error('the encrypted credentials do not start with a 16-byte IV');
  const decipher = createDecipheriv('aes-256-ctr', key, iv);
  const text = decipher.update(encrypted.substring(32), 'base64', 'utf8') + decipher.final('utf8');
  const value: unknown = JSON.parse(text);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('decrypted credentials are not an object');
  return value as Record<string, unknown>;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function safeGet(get: (name: string) => unknown, name: string): unknown {
  try {
    return get(name);
  } catch {
    return undefined;
  }
}
