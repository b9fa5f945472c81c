import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { AGENCIES, PROTOCOL_TERMS } from '../support/fixtures';
import { startService, type TestService } from '../support/test-app';

/**
 * The service behind an identity provider (AUTH_JWKS_URL over https). The provider's JWKS is
 * served by substituting the fetch of its URL (https://idp.test/…): the https rule of the
 * configuration stays as it is in production, and every other request goes out as usual.
 */
const JWKS_URL = 'https://idp.test/.well-known/jwks.json';
const env = { AUTH_JWKS_URL: JWKS_URL, AUTH_ISSUER: 'https://idp.test/', AUTH_AUDIENCE: 'equipe-ledger' };

describe('behind an identity provider', () => {
  const realFetch = globalThis.fetch;
  let provider: { privateKey: CryptoKey; jwk: JWK };
  let down = false;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    provider = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' } };
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      if (!String(input instanceof Request ? input.url : input).startsWith('https://idp.test/')) return realFetch(input, init);
      if (down) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return new Response(JSON.stringify({ keys: [provider.jwk] }), { headers: { 'content-type': 'application/json' } });
    });
  });
  afterAll(() => jest.restoreAllMocks());

  const token = (roles: string[], typ: string | undefined = 'at+jwt') =>
    new SignJWT({ zone: 'valdinievole', agency: AGENCIES.sds, roles })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', ...(typ ? { typ } : {}) })
      .setSubject('as-neri')
      .setIssuer(env.AUTH_ISSUER)
      .setAudience(env.AUTH_AUDIENCE)
      .setExpirationTime('1h')
      .sign(provider.privateKey);

  describe('while it answers', () => {
    let service: TestService;
    beforeAll(async () => {
      down = false;
      service = await startService({ env });
    });
    afterAll(async () => service?.stop());

    it('takes its access tokens, and refuses a token of another type (typ)', async () => {
      const put = await service.request('PUT', '/v1/protocol', { authorization: `Bearer ${await token(['admin'])}`, body: PROTOCOL_TERMS });
      expect(put.status).toBe(200);
      expect((await service.request('GET', '/v1/protocol', { authorization: `Bearer ${await token(['operator'], 'JWT')}` })).status).toBe(200);
      const logout = await service.request('GET', '/v1/protocol', { authorization: `Bearer ${await token(['operator'], 'logout+jwt')}` });
      expect({ status: logout.status, error: logout.body.error }).toEqual({ status: 401, error: 'unauthenticated' });
    });

    it('is ready, with the identity provider among the checks', async () => {
      const ready = await service.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details['identity-provider']).toEqual({ status: 'up' });
    });
  });

  describe('while it is down', () => {
    let service: TestService;
    beforeAll(async () => {
      down = true;
      service = await startService({ env });
    });
    afterAll(async () => {
      await service?.stop();
      down = false;
    });

    it('answers 503 unavailable, not 401, to a well-signed token whose key cannot be fetched', async () => {
      const response = await service.request('GET', '/v1/protocol', { authorization: `Bearer ${await token(['operator'])}` });
      expect({ status: response.status, error: response.body.error }).toEqual({ status: 503, error: 'unavailable' });
      // A token that is bad in itself is still a 401.
      expect((await service.request('GET', '/v1/protocol', { authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    });

    it('says why it is not ready', async () => {
      const ready = await service.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error['identity-provider']).toEqual({ status: 'down', reason: expect.stringMatching(/^jwks unreachable since \S+: fetch failed \(ECONNREFUSED\)$/) });
    });
  });
});
