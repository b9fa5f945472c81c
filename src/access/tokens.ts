import { SYSTEM_AGENCY } from '../../events';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type CryptoKey, importSPKI, type JWK, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { type Actor, ActorClaims, type Role } from './actor';
import type { Config } from '../config';
import { Unauthenticated } from '../errors';
import type { ReadModels } from '../../projections/read-models';
import { Caller } from './caller';
import { loadOrCreateLocalSigningKey, type LocalSigningKey } from './local-signing-key';

/**
 * Turns a bearer token into the caller it speaks for, or throws Unauthenticated (401). The
 * caller is the only handle on the read models (caller.ts): nothing else mints one.
 */
export type TokenVerifier = (token: string) => Promise<Caller>;

const ASYMMETRIC = ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'];

export async function createTokenVerifier(config: Config, models: ReadModels): Promise<TokenVerifier> {
  const auth = config.auth;
  let key: CryptoKey | JWTVerifyGetKey;
  let algorithms = ASYMMETRIC;
  if (auth.mode === 'local') {
    key = (await loadOrCreateLocalSigningKey(config.dataDir)).publicKey;
    algorithms = ['EdDSA'];
  } else if (auth.mode === 'jwks') {
    key = createRemoteJWKSet(new URL(auth.url));
  } else {
    key = await publicKeyFromFile(auth.file);
  }
  const issuer = auth.mode === 'local' ? undefined : auth.issuer;
  const audience = auth.mode === 'local' ? undefined : auth.audience;
  // A token verified once is remembered until it expires: the signature check (Ed25519, or a
  // JWKS round trip) is the dearest step of a small request, and a client sends the same
  // token for hours. Only successful verifications are cached; the cache is bounded.
  const verified = new Map<string, { caller: Caller; exp: number }>();
  return async (token) => {
    const hit = verified.get(token);
    if (hit && hit.exp * 1000 > Date.now()) return hit.caller;
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, key as CryptoKey, { algorithms, issuer, audience, requiredClaims: ['exp'], clockTolerance: 30 }));
    } catch {
      // Which check failed stays in the server: the caller learns only that the token is not good.
      throw new Unauthenticated('the bearer token is missing, malformed, expired or wrongly signed');
    }
    const claims = ActorClaims.safeParse(payload);
    if (!claims.success) throw new Unauthenticated('the bearer token lacks the claims sub, zone, agency, roles or exp');
    // The service's own author id is reserved: no token may speak for it (ENTITLEMENTS.md "Parties only").
    if (isReserved(claims.data.agency, claims.data.sub)) throw new Unauthenticated('the bearer token names a reserved id');
    const actor: Actor = { zone: claims.data.zone, agency: claims.data.agency, operator: claims.data.sub, roles: [...new Set(claims.data.roles)] };
    const caller = Caller.mint(actor, models);
    if (verified.size >= 10_000) verified.delete(verified.keys().next().value!);
    verified.set(token, { caller, exp: claims.data.exp });
    return caller;
  };
}

/** AUTH_PUBLIC_KEY_FILE: a PEM public key (SPKI) or a JWK / JWK set in JSON. */
async function publicKeyFromFile(file: string): Promise<CryptoKey | JWTVerifyGetKey> {
  const text = readFileSync(file, 'utf8').trim();
  if (text.startsWith('{')) {
    const json = JSON.parse(text) as JWK | { keys: JWK[] };
    return createLocalJWKSet('keys' in json ? json : { keys: [json] });
  }
  for (const alg of ['EdDSA', 'ES256', 'RS256']) {
    try {
      return await importSPKI(text, alg);
    } catch {
      // try the next algorithm
    }
  }
  throw new Error(`AUTH_PUBLIC_KEY_FILE holds no usable public key`);
}

export interface TokenRequest {
  readonly zone: string;
  readonly agency: string;
  readonly sub: string;
  readonly roles: readonly Role[];
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
}

/** The service's own author id (`ledger`) and its operators (`ledger:…`) never come from a token. */
export function isReserved(agency: string, sub: string): boolean {
  return agency === SYSTEM_AGENCY || sub.startsWith(`${SYSTEM_AGENCY}:`);
}

export async function issueToken(key: LocalSigningKey, request: TokenRequest, now = new Date()): Promise<string> {
  if (isReserved(request.agency, request.sub)) throw new Error(`"${SYSTEM_AGENCY}" is reserved for the service itself`);
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ zone: request.zone, agency: request.agency, roles: [...request.roles] })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + request.ttlSeconds)
    .sign(key.privateKey);
}

/** "8h", "30m", "3600s", "2d" or plain seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text} (use e.g. 8h, 30m, 3600)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
