import { SYSTEM_AGENCY } from '../../events';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type CryptoKey, importSPKI, type JSONWebKeySet, type JWK, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import type { Logger } from 'pino';
import { type Actor, ActorClaims, type Role } from './actor';
import type { Config } from '../config';
import { LedgerError, Unauthenticated, Unavailable } from '../errors';
import type { ReadModels } from '../../projections/read-models';
import { Caller } from './caller';
import { loadOrCreateLocalSigningKey, type LocalSigningKey } from './local-signing-key';

/**
 * Turns a bearer token into the caller it speaks for, or throws Unauthenticated (401), or
 * Unavailable (503) when the identity provider's keys cannot be fetched. The caller is the only
 * handle on the read models (caller.ts): nothing else mints one.
 */
export interface TokenVerifier {
  (token: string): Promise<Caller>;
  /** Whether the keys tokens are checked against are at hand (the readiness check `identity-provider`). */
  ready(): Promise<boolean>;
  /** Why they are not, or the identity provider's outage if there is one: no token, no personal data. */
  trouble(): string | undefined;
}

/** Where the verifier says what happened: an outage of the identity provider at error, a refused token at info. */
export type VerifierLog = Pick<Logger, 'error' | 'warn' | 'info'>;

/** How the identity provider's JWKS is kept (AUTH_JWKS_URL); API.md "Conventions". Tests change them. */
export interface JwksTimings {
  /** Keys older than this are fetched again, in the background (ms). */
  readonly refreshAfterMs?: number;
  /** Keys older than this are not trusted any more: a key removed from the JWKS is trusted at most this long (ms). */
  readonly trustForMs?: number;
  /** A token naming a key not in the set fetches the set again, at most this often (ms): how late a new key is trusted. */
  readonly newKeyCooldownMs?: number;
  /** During an outage, the set is asked for at most this often; requests in between answer 503 at once (ms). */
  readonly retryAfterMs?: number;
  /** How long one fetch may take (ms). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** The fetch of the JWKS (global fetch by default, looked up at each call). */
  readonly fetch?: typeof fetch;
}

const ASYMMETRIC = ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'];
/** `typ`, where the provider sets it: a JWT, or an OAuth access token (RFC 9068); anything else (an ID token's own type, a logout token...) is refused. */
const TOKEN_TYPES = new Set(['jwt', 'at+jwt']);

export async function createTokenVerifier(config: Config, models: ReadModels, log?: VerifierLog, timings: JwksTimings = {}): Promise<TokenVerifier> {
  const auth = config.auth;
  let keys: KeySource;
  let algorithms = ASYMMETRIC;
  if (auth.mode === 'local') {
    keys = fixedKeys((await loadOrCreateLocalSigningKey(config.dataDir)).publicKey);
    algorithms = ['EdDSA'];
  } else if (auth.mode === 'jwks') {
    keys = new RemoteJwks(auth.url, log, timings);
  } else {
    keys = fixedKeys(await publicKeyFromFile(auth.file));
  }
  const issuer = auth.mode === 'local' ? undefined : auth.issuer;
  const audience = auth.mode === 'local' ? undefined : auth.audience;
  const refused = (reason: string, message: string): never => {
    log?.info({ reason }, 'token refused');
    throw new Unauthenticated(message);
  };
  // A token verified once is remembered until it expires: the signature check (Ed25519, or a
  // JWKS round trip) is the dearest step of a small request, and a client sends the same
  // token for hours. Only successful verifications are cached; the cache is bounded. With a
  // JWKS, an entry holds only while the set it was verified against is unchanged and fresh: a
  // key removed from the set stops being trusted, remembered tokens included.
  const verified = new Map<string, { caller: Caller; exp: number; generation: number }>();
  const verify = async (token: string): Promise<Caller> => {
    const hit = verified.get(token);
    if (hit && hit.exp * 1000 > Date.now()) {
      await keys.current(); // Unavailable (503) when a JWKS is too old and cannot be fetched
      if (hit.generation === keys.generation) return hit.caller;
    }
    if (hit) verified.delete(token);
    const generation = keys.generation;
    let payload: unknown;
    let typ: string | undefined;
    try {
      // The key is looked up once the token parses: a malformed token is a 401 even while the provider is down.
      const key: JWTVerifyGetKey = async (header, jws) => {
        const current = await keys.current();
        return typeof current === 'function' ? current(header, jws) : current;
      };
      const result = await jwtVerify(token, key, { algorithms, issuer, audience, requiredClaims: ['exp'], clockTolerance: 30 });
      payload = result.payload;
      typ = result.protectedHeader.typ;
    } catch (error) {
      if (error instanceof LedgerError) throw error; // the identity provider could not be asked: 503, not the token's fault
      // Which check failed stays in the server: the caller learns only that the token is not good.
      return refused(String((error as { code?: string }).code ?? 'malformed'), 'the bearer token is missing, malformed, expired or wrongly signed');
    }
    if (typ !== undefined && !TOKEN_TYPES.has(typ.toLowerCase().replace(/^application\//, ''))) return refused('typ', 'the bearer token is not an access token (typ)');
    const claims = ActorClaims.safeParse(payload);
    if (!claims.success) return refused('claims', 'the bearer token lacks the claims sub, zone, agency, roles or exp');
    // The service's own author id is reserved: no token may speak for it (ENTITLEMENTS.md "Parties only").
    if (isReserved(claims.data.agency, claims.data.sub)) return refused('reserved-id', 'the bearer token names a reserved id');
    const actor: Actor = { zone: claims.data.zone, agency: claims.data.agency, operator: claims.data.sub, roles: [...new Set(claims.data.roles)] };
    const caller = Caller.mint(actor, models);
    if (verified.size >= 10_000) verified.delete(verified.keys().next().value!);
    verified.set(token, { caller, exp: claims.data.exp, generation });
    return caller;
  };
  return Object.assign(verify, {
    ready: () =>
      keys.current().then(
        () => true,
        () => false,
      ),
    trouble: () => keys.trouble(),
  });
}

/** What tokens are checked against: fixed (the local key, AUTH_PUBLIC_KEY_FILE) or an identity provider's JWKS. */
interface KeySource {
  /** Bumped whenever the set of keys changes: what was verified before is verified again. */
  readonly generation: number;
  current(): Promise<CryptoKey | JWTVerifyGetKey>;
  trouble(): string | undefined;
}

function fixedKeys(key: CryptoKey | JWTVerifyGetKey): KeySource {
  return { generation: 0, current: async () => key, trouble: () => undefined };
}

/**
 * An identity provider's JWKS (AUTH_JWKS_URL), fetched by the service itself rather than by
 * jose's createRemoteJWKSet, so that it can tell an outage (503, logged `jwks unreachable` at
 * error, the readiness check down with the reason) from a bad token (401, `token refused` at
 * info), and know when the set changed. Keys are fetched again in the background after
 * `refreshAfterMs` (1 min), and not trusted at all after `trustForMs` (2 min) without a
 * successful fetch: a key removed from the set is trusted at most 2 minutes more, and an outage
 * longer than that answers 503 (the service cannot tell a removed key from a kept one). A token
 * naming an unknown key fetches the set again, at most every `newKeyCooldownMs` (30 s).
 */
class RemoteJwks implements KeySource {
  generation = 0;
  private keys?: { readonly get: JWTVerifyGetKey; readonly fingerprint: string; readonly at: number };
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private outage?: { readonly since: string; reason: string };
  private inflight?: Promise<void>;
  private readonly t: Required<Omit<JwksTimings, 'fetch'>> & { fetch: (url: string, init: RequestInit) => Promise<Response> };

  constructor(
    private readonly url: string,
    private readonly log: VerifierLog | undefined,
    timings: JwksTimings,
  ) {
    this.t = {
      refreshAfterMs: 60_000,
      trustForMs: 120_000,
      newKeyCooldownMs: 30_000,
      retryAfterMs: 5_000,
      timeoutMs: 5_000,
      now: Date.now,
      ...timings,
      fetch: (u, init) => (timings.fetch ?? globalThis.fetch)(u, init),
    };
    // Fetched at start, so that an outage shows in the logs and the readiness check at once.
    void this.refresh();
  }

  async current(): Promise<JWTVerifyGetKey> {
    const now = this.t.now();
    const age = this.keys ? now - this.keys.at : Number.POSITIVE_INFINITY;
    if (age >= this.t.trustForMs) {
      if (this.inflight || now - this.lastAttempt >= this.t.retryAfterMs) await this.refresh();
      if (!this.keys || this.t.now() - this.keys.at >= this.t.trustForMs) throw this.unavailable();
    } else if (age >= this.t.refreshAfterMs && now - this.lastAttempt >= this.t.retryAfterMs) {
      void this.refresh();
    }
    const keys = this.keys;
    if (!keys) throw this.unavailable();
    // A key not in the set: the provider may have added it since; asked again at most every
    // newKeyCooldownMs. While the provider is down, whether the key is its own cannot be known: 503.
    return async (header, token) => {
      try {
        return await keys.get(header, token);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
        if (this.outage) throw this.unavailable();
        if (this.t.now() - this.lastAttempt < this.t.newKeyCooldownMs) throw error;
        await this.refresh();
        if (this.outage || !this.keys) throw this.unavailable();
        return this.keys.get(header, token);
      }
    };
  }

  trouble(): string | undefined {
    if (this.outage) return `jwks unreachable since ${this.outage.since}: ${this.outage.reason}`;
    if (!this.keys) return 'jwks not fetched yet';
    return undefined;
  }

  private unavailable(): Error {
    return new Unavailable(`the identity provider's keys cannot be fetched; try again`);
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = this.t.now();
    try {
      const response = await this.t.fetch(this.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.t.timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const jwks = (await response.json()) as JSONWebKeySet;
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error('the answer is not a JWK set');
      const get = createLocalJWKSet(jwks);
      const fingerprint = JSON.stringify(jwks.keys.map((k) => JSON.stringify(k)).sort());
      if (this.keys && this.keys.fingerprint !== fingerprint) {
        this.generation++;
        this.log?.info({ keys: jwks.keys.map((k) => k.kid ?? '(no kid)') }, 'jwks changed: tokens verified before are verified again');
      }
      this.keys = { get, fingerprint, at: this.t.now() };
      if (this.outage) this.log?.warn({ url: this.url, since: this.outage.since }, 'jwks reachable again');
      this.outage = undefined;
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `no answer within ${this.t.timeoutMs} ms` : `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
      this.outage = { since: this.outage?.since ?? new Date(this.t.now()).toISOString(), reason };
      this.log?.error({ url: this.url, reason, since: this.outage.since }, 'jwks unreachable');
    }
  }
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
  // Case-insensitive: `LEDGER:consent-expiry` would read as the service's own operator on a trail.
  return agency.toLowerCase() === SYSTEM_AGENCY || sub.toLowerCase().startsWith(`${SYSTEM_AGENCY}:`);
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

/** The lifetimes `ledger token` signs: a token born expired is useless, and one that never expires is a password. */
const TTL_SECONDS = { min: 60, max: 30 * 86_400 } as const;

/** "8h", "30m", "3600s", "2d" or plain seconds, from a minute to 30 days. */
export function parseTtl(text: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text} (use e.g. 8h, 30m, 3600)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(m[1]) * unit;
  if (seconds < TTL_SECONDS.min || seconds > TTL_SECONDS.max) throw new Error(`must be from 1 minute to 30 days (got ${text})`);
  return seconds;
}
