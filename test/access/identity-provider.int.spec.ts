import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { ReadModels } from '../../projections/read-models';
import { createTokenVerifier, type JwksTimings, type TokenVerifier } from '../../src/access/tokens';
import { loadConfig } from '../../src/config';
import type { LedgerError } from '../../src/errors';
import { readModelCrypto } from '../../src/keys/open-keys';
import { testKeys } from '../support/keys';

/**
 * AUTH_JWKS_URL, with the fetch of the JWKS substituted (the https rule of the configuration
 * stays real) and a clock of the test's own: outages, removed keys and new keys.
 */
const URL = 'https://idp.test/.well-known/jwks.json';
const ISSUER = 'https://idp.test/';
const AUDIENCE = 'equipe-ledger';

async function providerKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK };
}
type ProviderKey = Awaited<ReturnType<typeof providerKey>>;

function sign(key: ProviderKey, claims: { sub?: string; agency?: string; typ?: string | null; iss?: string; aud?: string } = {}) {
  const header = { alg: 'ES256', kid: key.kid, ...(claims.typ === null ? {} : { typ: claims.typ ?? 'at+jwt' }) };
  return new SignJWT({ zone: 'valdinievole', agency: claims.agency ?? 'sds-valdinievole', roles: ['operator'] })
    .setProtectedHeader(header)
    .setSubject(claims.sub ?? 'as-neri')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setExpirationTime('1h')
    .sign(key.privateKey);
}

describe('an identity provider (AUTH_JWKS_URL)', () => {
  let now: number;
  let keys: JWK[];
  let down: boolean;
  let fetches: number;
  let logs: Array<{ level: string; msg: string; obj: Record<string, unknown> }>;
  let a: ProviderKey;
  let b: ProviderKey;

  const fetchJwks = (async (url: string) => {
    fetches++;
    expect(url).toBe(URL);
    if (down) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return new Response(JSON.stringify({ keys }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const log = Object.fromEntries(
    ['error', 'warn', 'info'].map((level) => [level, (obj: Record<string, unknown>, msg: string) => logs.push({ level, msg, obj })]),
  ) as unknown as Parameters<typeof createTokenVerifier>[2];

  const tick = () => new Promise((resolve) => setImmediate(resolve));
  async function verifier(timings: JwksTimings = {}): Promise<TokenVerifier> {
    const config = loadConfig({ AUTH_JWKS_URL: URL, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    const verify = await createTokenVerifier(config, ReadModels.open(':memory:', readModelCrypto(testKeys())), log, { fetch: fetchJwks, now: () => now, ...timings });
    await tick();
    return verify;
  }
  async function outcome(verify: TokenVerifier, token: string): Promise<string> {
    try {
      return (await verify(token)).actor.operator;
    } catch (error) {
      return (error as LedgerError).code;
    }
  }

  beforeAll(async () => {
    a = await providerKey('key-a');
    b = await providerKey('key-b');
  });
  beforeEach(() => {
    now = Date.parse('2025-06-01T09:00:00Z');
    keys = [a.jwk];
    down = false;
    fetches = 0;
    logs = [];
  });

  it('accepts a token of the provider for this service, with typ at+jwt, JWT or none, and refuses any other typ', async () => {
    const verify = await verifier();
    expect(await outcome(verify, await sign(a))).toBe('as-neri');
    expect(await outcome(verify, await sign(a, { sub: 'b', typ: 'JWT' }))).toBe('b');
    expect(await outcome(verify, await sign(a, { sub: 'c', typ: 'application/at+jwt' }))).toBe('c');
    expect(await outcome(verify, await sign(a, { sub: 'd', typ: null }))).toBe('d');
    expect(await outcome(verify, await sign(a, { sub: 'e', typ: 'logout+jwt' }))).toBe('unauthenticated');
    expect(await outcome(verify, await sign(a, { sub: 'f', aud: 'another-service' }))).toBe('unauthenticated');
    expect(await outcome(verify, await sign(a, { sub: 'g', iss: 'https://elsewhere.test/' }))).toBe('unauthenticated');
    expect(logs.filter((l) => l.msg === 'token refused').map((l) => [l.level, l.obj.reason])).toEqual([
      ['info', 'typ'],
      ['info', 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['info', 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ]);
  });

  it('refuses a provider token that speaks for the reserved author id, whatever its case', async () => {
    const verify = await verifier();
    for (const claims of [{ agency: 'ledger' }, { sub: 'ledger:consent-expiry' }, { sub: 'LEDGER:consent-expiry' }, { sub: 'Ledger:retention' }]) {
      expect({ claims, outcome: await outcome(verify, await sign(a, claims)) }).toEqual({ claims, outcome: 'unauthenticated' });
    }
  });

  it('stops trusting a key removed from the JWKS within 2 minutes, tokens verified before included', async () => {
    const verify = await verifier();
    const token = await sign(a);
    expect(await outcome(verify, token)).toBe('as-neri');
    keys = [b.jwk]; // the provider retires key A
    now += 61_000; // the set is stale: fetched again in the background, the remembered token still answers this once
    expect(await outcome(verify, token)).toBe('as-neri');
    await tick();
    expect(await outcome(verify, token)).toBe('unauthenticated');
    expect(logs.some((l) => l.msg.startsWith('jwks changed'))).toBe(true);
  });

  it('refuses a removed key at once when the set is older than 2 minutes', async () => {
    const verify = await verifier();
    const token = await sign(a);
    expect(await outcome(verify, token)).toBe('as-neri');
    keys = [b.jwk];
    now += 121_000;
    expect(await outcome(verify, token)).toBe('unauthenticated');
  });

  it('trusts a new key once a token signed by it arrives, at most 30 s after the last fetch', async () => {
    const verify = await verifier();
    keys = [a.jwk, b.jwk]; // the provider adds key B
    now += 5_000;
    expect(await outcome(verify, await sign(b))).toBe('unauthenticated'); // fetched 5 s ago: not asked again yet
    now += 25_000;
    expect(await outcome(verify, await sign(b, { sub: 'other' }))).toBe('other');
  });

  it('tells an outage from a bad token: 503, logged at error, readiness down with the reason', async () => {
    down = true;
    const verify = await verifier();
    expect(await outcome(verify, await sign(a))).toBe('unavailable');
    expect(await verify.ready()).toBe(false);
    expect(verify.trouble()).toMatch(/^jwks unreachable since 2025-06-01T09:00:00.000Z: fetch failed \(ECONNREFUSED\)$/);
    const outage = logs.filter((l) => l.msg === 'jwks unreachable');
    expect(outage.length).toBeGreaterThan(0);
    expect(outage.every((l) => l.level === 'error' && l.obj.url === URL)).toBe(true);
    expect(logs.filter((l) => l.msg === 'token refused')).toEqual([]);
    // Asked again at most every 5 s while it is down: requests in between answer 503 at once.
    const asked = fetches;
    expect(await outcome(verify, await sign(a))).toBe('unavailable');
    expect(fetches).toBe(asked);
    down = false;
    now += 5_000;
    expect(await outcome(verify, await sign(a))).toBe('as-neri');
    expect(await verify.ready()).toBe(true);
    expect(verify.trouble()).toBeUndefined();
    expect(logs.some((l) => l.msg === 'jwks reachable again' && l.level === 'warn')).toBe(true);
  });

  it('rides out a short outage on the keys it has, answers 503 for a key it cannot fetch, and 503 for everything after 2 minutes', async () => {
    const verify = await verifier();
    const token = await sign(a);
    expect(await outcome(verify, token)).toBe('as-neri');
    down = true;
    now += 61_000;
    expect(await outcome(verify, await sign(a, { sub: 'x' }))).toBe('x'); // a known key, a set younger than 2 minutes
    await tick();
    expect(await outcome(verify, await sign(b))).toBe('unavailable'); // an unknown key: the set cannot be fetched to find it
    expect(await verify.ready()).toBe(true);
    now += 60_000;
    expect(await outcome(verify, token)).toBe('unavailable');
    expect(await verify.ready()).toBe(false);
  });
});
