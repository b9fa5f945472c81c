import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

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
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = `local-${new Date().toISOString().slice(0, 10)}-${jwk.x!.slice(0, 8)}`;
    mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
    // Written aside and renamed, so two processes starting at once never read half a key.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify({ ...jwk, kid, alg: 'EdDSA', use: 'sig' }), { mode: 0o600 });
    if (!existsSync(file)) renameSync(partial, file);
  }
  chmodSync(file, 0o600);
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string };
  const { d: _private, ...publicJwk } = jwk;
  return {
    kid: jwk.kid,
    privateKey: (await importJWK(jwk, 'EdDSA')) as CryptoKey,
    publicKey: (await importJWK(publicJwk, 'EdDSA')) as CryptoKey,
  };
}
