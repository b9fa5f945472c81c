import { connect } from 'node:net';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/** API.md "Conventions": floods and slow clients (OPERATIONS.md "Limits"). */
describe('limits over HTTP', () => {
  describe('rate limits, per token subject and per client address', () => {
    let service: TestService;
    beforeAll(async () => {
      service = await startService({ env: { RATE_LIMIT_PER_SUBJECT: '5', RATE_LIMIT_PER_ADDRESS: '20', RATE_LIMIT_WINDOW_MS: '60000' } });
      await signProtocol(service);
    });
    afterAll(async () => service?.stop());

    it('sends RateLimit-Limit, -Remaining and -Reset on every answer, then 429 with Retry-After and the error body', async () => {
      const as = { agency: AGENCIES.sds, roles: ['operator' as const], sub: 'busy-operator' };
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await service.request('GET', '/v1/cases', { as }));
      expect(answers.slice(0, 5).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(answers.slice(0, 5).map((a) => a.headers.get('ratelimit-remaining'))).toEqual(['4', '3', '2', '1', '0']);
      for (const answer of answers) {
        expect(answer.headers.get('ratelimit-limit')).toBe('5');
        expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      }
      const over = answers[5]!;
      expect(over.status).toBe(429);
      expect(over.body).toEqual({ error: 'rate-limited', message: expect.any(String) });
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(over.headers.get('cache-control')).toBe('no-store');
      // Another operator of the same agency is not limited by the first one's flood.
      expect((await service.request('GET', '/v1/cases', { as: { ...as, sub: 'calm-operator' } })).status).toBe(200);
    });

    it('writes no access-trail record for a refused read', async () => {
      const as = { agency: AGENCIES.serd, roles: ['operator' as const], sub: 'trail-operator' };
      for (let i = 0; i < 5; i++) expect((await service.request('GET', '/v1/cases', { as })).status).toBe(200);
      const before = (await service.store.readAll({ maxCount: 1_000_000, streamPrefixes: ['trail-'] })).length;
      expect((await service.request('GET', '/v1/cases', { as })).status).toBe(429);
      expect((await service.store.readAll({ maxCount: 1_000_000, streamPrefixes: ['trail-'] })).length).toBe(before);
    });

    it('limits a client address whatever token it sends, and never the probes', async () => {
      let status = 0;
      for (let i = 0; i < 30 && status !== 429; i++) status = (await service.request('GET', '/v1/cases', { authorization: 'Bearer nope' })).status;
      expect(status).toBe(429);
      const refused = await service.request('GET', '/openapi.json');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('ratelimit-limit')).toBe('20');
      for (const path of ['/health/live', '/health/ready', '/metrics']) {
        const probe = await service.request('GET', path);
        expect(probe.status).toBe(200);
        expect(probe.headers.get('ratelimit-limit')).toBeNull();
      }
    });
  });

  describe('slow clients, deep bodies, security headers', () => {
    let service: TestService;
    beforeAll(async () => {
      service = await startService({ env: { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', CORS_ORIGINS: 'https://app.example.org' } });
      await signProtocol(service);
    });
    afterAll(async () => service?.stop());

    it('cuts off a client that sends its headers too slowly', async () => {
      const { port } = new URL(service.url);
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
      socket.on('error', () => undefined);
      const started = Date.now();
      socket.write('GET /v1/cases HTTP/1.1\r\nHost: localhost\r\n');
      // One header byte every 100 ms: the headers never end within the timeout.
      const drip = setInterval(() => socket.writable && socket.write('x'), 100);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([closed, new Promise<'still open'>((resolve) => (timer = setTimeout(() => resolve('still open'), 5_000)))]);
      clearTimeout(timer);
      clearInterval(drip);
      socket.destroy();
      expect(outcome).not.toBe('still open');
      expect((outcome as number) - started).toBeLessThan(4_000);
      if (received) expect(received).toMatch(/^HTTP\/1\.1 408/);
    });

    it('answers 400 validation, not 500, to a body nested 10,000 deep, with or without an Idempotency-Key', async () => {
      const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const bodies = [
        `{"person":${deepArray},"needs":["employment"]}`,
        `{"person":${JSON.stringify(PERSON)},"needs":["employment"],"notes":[${deepObject}]}`,
        `{"person":${JSON.stringify(PERSON)},"needs":["employment"],"deep":${deepObject}}`,
        deepArray,
      ];
      for (const [i, rawBody] of bodies.entries()) {
        for (const key of [undefined, `deep-${i}`]) {
          const answer = await service.request('POST', '/v1/referrals', {
            as: { agency: AGENCIES.serd },
            rawBody,
            headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
          });
          expect({ i, key, status: answer.status, error: answer.body.error }).toEqual({ i, key, status: 400, error: 'validation' });
          expect(JSON.stringify(answer.body).length).toBeLessThan(20_000);
        }
      }
      expect(service.logs.filter((line) => line.includes('"level":50'))).toEqual([]);
    });

    it('sends security headers on API answers, and /docs still loads Swagger UI under its Content-Security-Policy', async () => {
      const answer = await service.request('GET', '/v1/cases', { as: { agency: AGENCIES.sds } });
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(answer.headers.get('strict-transport-security')).toContain('max-age=');
      expect(answer.headers.get('x-powered-by')).toBeNull();
      const page = await service.request('GET', '/docs');
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      // Everything the page loads is served from /docs (no inline script), and each asset answers.
      for (const src of [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)) {
        expect(src.startsWith('/docs/')).toBe(true);
        expect({ src, status: (await service.request('GET', src)).status }).toEqual({ src, status: 200 });
      }
      expect(String(page.body)).not.toMatch(/<script>[^<]/);
      expect((await service.request('GET', '/openapi.json')).status).toBe(200);
    });

    it('lets a browser read answers only from the origins CORS_ORIGINS names', async () => {
      const allowed = await service.request('GET', '/v1/cases', { as: { agency: AGENCIES.sds }, headers: { origin: 'https://app.example.org' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
      const other = await service.request('GET', '/v1/cases', { as: { agency: AGENCIES.sds }, headers: { origin: 'https://evil.example.com' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
