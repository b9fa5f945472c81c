import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ownerOnlyFile } from '../data-folder';

/**
 * Embedded mode's token signing key: an Ed25519 key pair created in the data folder on first
 * start, readable by its owner only. `ledger token` signs with it; the service trusts it unless
 * AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE name an identity provider instead.
 */
export interface LocalSigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export const localKeyFile = (dataDir: string) => join(dataDir, 'auth', 'token-signing-key.jwk.json');

export async function loadOrCreateLocalSigningKey(dataDir: string): Promise<LocalSigningKey> {
  const file = localKeyFile(dataDir);
  let text = readIfPresent(file);
  if (text === undefined) {
    const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = `local-${new Date().toISOString().slice(0, 10)}-${jwk.x!.slice(0, 8)}`;
    text = publish(file, JSON.stringify({ ...jwk, kid, alg: 'EdDSA', use: 'sig' }));
  }
  // Owner-only even if an older version or another umask left it wider.
  ownerOnlyFile(file);
  const jwk = JSON.parse(text) as JWK & { kid: string };
  const { d: _private, ...publicJwk } = jwk;
  return {
    kid: jwk.kid,
    privateKey: (await importJWK(jwk, 'EdDSA')) as CryptoKey,
    publicKey: (await importJWK(publicJwk, 'EdDSA')) as CryptoKey,
  };
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Puts a new key in place unless one is there already, and answers the key in place. Two
 * processes (or two calls) creating the first key at once must end with one key that both use:
 * each writes its key, complete and fsynced, to a file of its own, then hard-links it to the
 * key's name. link(2) never overwrites: the first link wins, the loser gets EEXIST and reads the
 * winner's key. (A rename would overwrite, so a token signed by the first key would stop
 * verifying; a reader never sees half a key either way.)
 */
function publish(file: string, text: string): string {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(partial, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(partial, file);
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(partial, { force: true });
  }
}
