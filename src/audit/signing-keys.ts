import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from './auditor';

/** A checkpoint-signing key as GET /v1/audit/keys lists it: the raw 32-byte Ed25519 public key, base64. */
export interface PublicSigningKey {
  readonly keyId: string;
  readonly alg: 'Ed25519';
  readonly publicKey: string;
  readonly createdAt: string;
  readonly active: boolean;
}

interface KeyFile {
  readonly keyId: string;
  readonly createdAt: string;
  /** PKCS#8 PEM. */
  readonly privateKey: string;
}

/** The raw 32 bytes of an Ed25519 public key (RFC 8032), from its JWK `x`. */
export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}

/**
 * The Ed25519 keys that sign checkpoints, one file each (mode 0600) in a folder of their own:
 * DATA_DIR/audit/keys by default, or AUDIT_KEY_DIR (a mounted secret, so that whoever can
 * edit the data folder cannot also sign). The newest signs; rotation adds a key and keeps the
 * old ones, so every checkpoint ever signed stays verifiable. A key is made on first use.
 */
export class CheckpointKeys {
  private keys: Array<KeyFile & { private: KeyObject; public: KeyObject }> = [];

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.load();
    if (this.keys.length === 0) this.rotate();
  }

  /** Adds a new signing key; the old ones stay, to verify what they signed. */
  rotate(): PublicSigningKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyId = keyIdOf(rawPublicKey(createPublicKey(privateKey)));
    // Strictly after the newest: "newest signs" must not depend on the clock's resolution.
    const newest = this.keys[this.keys.length - 1]?.createdAt;
    let created = new Date();
    if (newest && created.toISOString() <= newest) created = new Date(Date.parse(newest) + 1);
    const file: KeyFile = { keyId, createdAt: created.toISOString(), privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
    const path = join(this.dir, `${keyId}.json`);
    const partial = `${path}.partial`;
    const fd = openSync(partial, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(file));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, path);
    this.load();
    return this.list().find((k) => k.keyId === keyId)!;
  }

  list(): PublicSigningKey[] {
    const active = this.keys[this.keys.length - 1]?.keyId;
    return this.keys.map((k) => ({ keyId: k.keyId, alg: 'Ed25519', publicKey: rawPublicKey(k.public).toString('base64'), createdAt: k.createdAt, active: k.keyId === active }));
  }

  /** Signs with the newest key. */
  sign(bytes: Uint8Array): { keyId: string; signature: Buffer } {
    const key = this.keys[this.keys.length - 1]!;
    return { keyId: key.keyId, signature: sign(null, bytes, key.private) };
  }

  publicKey(keyId: string): KeyObject | undefined {
    return this.keys.find((k) => k.keyId === keyId)?.public;
  }

  private load(): void {
    this.keys = readdirSync(this.dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => {
        const file = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as KeyFile;
        const key = createPrivateKey(file.privateKey);
        const pub = createPublicKey(key);
        if (keyIdOf(rawPublicKey(pub)) !== file.keyId) throw new Error(`checkpoint key ${name} does not match its id`);
        return { ...file, private: key, public: pub };
      })
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }
}
