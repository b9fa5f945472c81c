import { generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli';
import { AGENCIES, PERSON, PROTOCOL_TERMS } from '../support/fixtures';
import { issueToken } from '../../src/access/tokens';
import { signProtocol, startService, type TestService } from '../support/test-app';

const body = { person: PERSON, needs: ['employment'] };

describe('authentication and roles', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  async function referWith(authorization?: string) {
    return service.request('POST', '/v1/referrals', { authorization, body });
  }

  it('answers 401 without a token, with a malformed one, or with another scheme', async () => {
    for (const authorization of [undefined, 'Bearer', 'Bearer not.a.jwt', 'Basic dXNlcjpwYXNz', `Token ${await service.token(AGENCIES.sds)}`]) {
      const response = await referWith(authorization);
      expect({ authorization, status: response.status, error: response.body.error }).toEqual({ authorization, status: 401, error: 'unauthenticated' });
    }
  });

  it('answers 401 for an expired token', async () => {
    const expired = await service.token(AGENCIES.sds, ['operator'], { ttlSeconds: -120 });
    expect((await referWith(`Bearer ${expired}`)).status).toBe(401);
  });

  it('answers 401 for a token signed by another key', async () => {
    const { privateKey } = await generateKeyPair('Ed25519');
    const forged = await new SignJWT({ zone: 'valdinievole', agency: AGENCIES.sds, roles: ['operator'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('intruder')
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await referWith(`Bearer ${forged}`)).status).toBe(401);
  });

  it('answers 401 for an unsigned token (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', zone: 'valdinievole', agency: AGENCIES.sds, roles: ['admin'], exp: 9999999999 })).toString('base64url');
    expect((await referWith(`Bearer ${header}.${payload}.`)).status).toBe(401);
  });

  it('answers 401 for a well-signed token that lacks a required claim', async () => {
    const { loadOrCreateLocalSigningKey } = await import('../../src/access/local-signing-key');
    const key = await loadOrCreateLocalSigningKey(service.dataDir);
    const noRoles = await new SignJWT({ zone: 'valdinievole', agency: AGENCIES.sds })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(key.privateKey);
    const noExp = await new SignJWT({ zone: 'valdinievole', agency: AGENCIES.sds, roles: ['operator'] }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('x').sign(key.privateKey);
    const badRole = await new SignJWT({ zone: 'valdinievole', agency: AGENCIES.sds, roles: ['superuser'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(key.privateKey);
    for (const token of [noRoles, noExp, badRole]) expect((await referWith(`Bearer ${token}`)).status).toBe(401);
  });

  it("answers 401 for a token that speaks for the service's own reserved author id", async () => {
    const { loadOrCreateLocalSigningKey } = await import('../../src/access/local-signing-key');
    const key = await loadOrCreateLocalSigningKey(service.dataDir);
    const sign = (agency: string, sub: string) =>
      new SignJWT({ zone: 'valdinievole', agency, roles: ['operator', 'dpo'] }).setProtectedHeader({ alg: 'EdDSA' }).setSubject(sub).setExpirationTime('1h').sign(key.privateKey);
    for (const token of [await sign('ledger', 'x'), await sign(AGENCIES.sds, 'ledger:consent-expiry'), await sign(AGENCIES.sds, 'LEDGER:consent-expiry')]) {
      expect((await service.request('GET', '/v1/cases', { authorization: `Bearer ${token}` })).status).toBe(401);
    }
    await expect(issueToken(key, { zone: 'valdinievole', agency: 'ledger', sub: 'x', roles: ['operator'], ttlSeconds: 60 })).rejects.toThrow(/reserved/);
    await expect(issueToken(key, { zone: 'valdinievole', agency: AGENCIES.sds, sub: 'Ledger:retention', roles: ['operator'], ttlSeconds: 60 })).rejects.toThrow(/reserved/);
  });

  it('lets `ledger token` mint no token for the reserved author id, naming the argument, before it makes any key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-token-'));
    try {
      for (const [agency, sub, flag] of [
        ['ledger', 'x', '--agency'],
        [AGENCIES.sds, 'ledger:consent-expiry', '--sub'],
        [AGENCIES.sds, 'LEDGER:consent-expiry', '--sub'],
      ]) {
        const err: string[] = [];
        const code = await runCli(
          ['token', '--zone', 'valdinievole', '--agency', agency!, '--sub', sub!, '--roles', 'operator'],
          { out: () => undefined, err: (l) => err.push(l) },
          { DATA_DIR: dataDir },
        );
        expect({ agency, sub, code, err: err.join('\n') }).toEqual({ agency, sub, code: 1, err: expect.stringContaining(`${flag}: "ledger`) });
      }
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 403 to an agency that is not a party of the zone protocol, on every request, reads included, and records it', async () => {
    const created = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body });
    const outsider = { agency: 'comune-di-lucca', roles: ['operator', 'coordinator', 'dpo', 'admin'] as Array<'operator' | 'coordinator' | 'dpo' | 'admin'> };
    const tries: Array<[string, string, unknown?]> = [
      ['GET', '/v1/cases'],
      ['GET', `/v1/cases/${created.body.caseId}`],
      ['GET', `/v1/cases/${created.body.caseId}/history`],
      ['GET', '/v1/protocol'],
      ['GET', '/v1/reports/activity'],
      ['GET', '/v1/access-trail'],
      ['POST', '/v1/referrals', body],
      ['POST', `/v1/cases/${created.body.caseId}/notes`, { notes: [{ category: 'common', text: 'x' }] }],
    ];
    for (const [method, path, payload] of tries) {
      const response = await service.request(method, path, { as: outsider, body: payload });
      expect({ path, status: response.status, error: response.body.error }).toEqual({ path, status: 403, error: 'forbidden' });
    }
    const trail = await service.store.readAll({ maxCount: 10_000, streamPrefixes: ['trail-'] });
    const refused = trail.filter((e) => e.metadata.agency === 'comune-di-lucca').map((e) => (e.data as { action: string; outcome: string }).action);
    expect(refused.sort()).toEqual(['case.command', 'case.history', 'case.list', 'case.read']);
  });

  it('records a refused command on a case like a refused read: 403, and 404 for an invisible case as for an unknown one', async () => {
    const created = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body });
    const invisible = created.body.caseId as string;
    const unknown = '0b7e2c1a-5d3f-4e8a-9c6b-1f2e3d4c5b6a';
    const note = { notes: [{ category: 'common', text: 'x' }] };
    // UEPE is a party, not on this case: it does not exist for it.
    const uepe = { agency: AGENCIES.uepe };
    for (const caseId of [invisible, unknown]) expect((await service.request('POST', `/v1/cases/${caseId}/notes`, { as: uepe, body: note })).status).toBe(404);
    expect((await service.request('POST', `/v1/cases/${invisible}/notes`, { as: { agency: AGENCIES.uepe, roles: ['dpo'] }, body: note })).status).toBe(403);
    const trail = await service.store.readAll({ maxCount: 10_000, streamPrefixes: ['trail-'] });
    const records = trail
      .filter((e) => e.metadata.agency === AGENCIES.uepe && (e.data as { action: string }).action === 'case.command')
      .map((e) => {
        const { action, caseId, outcome, categories } = e.data as { action: string; caseId: string; outcome: string; categories: string[] };
        return { action, caseId, outcome, categories };
      });
    expect(records).toEqual([
      { action: 'case.command', caseId: invisible, outcome: 'not-found', categories: [] },
      { action: 'case.command', caseId: unknown, outcome: 'not-found', categories: [] },
      { action: 'case.command', caseId: invisible, outcome: 'forbidden', categories: [] },
    ]);
  });

  it('answers 403 when the token lacks the role', async () => {
    const dpo = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds, roles: ['dpo'] }, body });
    expect(dpo.status).toBe(403);
    expect(dpo.body.error).toBe('forbidden');
    const operator = await service.request('PUT', '/v1/protocol', { as: { agency: AGENCIES.sds, roles: ['operator'] }, body: {} });
    expect(operator.status).toBe(403);
  });

  it('lets a coordinator do what an operator does, and only a coordinator take a case in charge', async () => {
    const created = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds, roles: ['coordinator'] }, body });
    expect(created.status).toBe(201);
    const caseId = created.body.caseId;
    const takeInCharge = { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' };
    expect((await service.request('POST', `/v1/cases/${caseId}/taking-in-charge`, { as: { agency: AGENCIES.sds, roles: ['operator'] }, body: takeInCharge })).status).toBe(403);
    expect((await service.request('POST', `/v1/cases/${caseId}/taking-in-charge`, { as: { agency: AGENCIES.sds, roles: ['coordinator'] }, body: takeInCharge })).status).toBe(201);
  });

  it('takes the zone from the token: a case of one zone is not found from another', async () => {
    const created = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body });
    // The same agency is a party in a second zone too (each zone signs its own protocol).
    expect((await service.request('PUT', '/v1/protocol', { as: { agency: AGENCIES.sds, roles: ['admin'], zone: 'piana-di-lucca' }, body: PROTOCOL_TERMS })).status).toBe(200);
    const elsewhere = await service.request('POST', `/v1/cases/${created.body.caseId}/notes`, {
      as: { agency: AGENCIES.sds, zone: 'piana-di-lucca' },
      body: { notes: [{ category: 'common', text: 'x' }] },
    });
    expect(elsewhere.status).toBe(404);
  });

  it('keeps operations public: health, OpenAPI and docs need no token', async () => {
    expect((await service.request('GET', '/health/live')).status).toBe(200);
    expect((await service.request('GET', '/health/ready')).status).toBe(200);
    expect((await service.request('GET', '/openapi.json')).status).toBe(200);
    const docs = await service.request('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
    expect((await service.request('GET', '/docs/swagger-ui-bundle.js')).status).toBe(200);
    expect((await service.request('GET', '/docs/..%2Fpackage.json')).status).toBe(404);
  });
});

describe('/metrics', () => {
  it('counts requests by route pattern, never by case id', async () => {
    const service = await startService();
    try {
      await signProtocol(service);
      const created = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body });
      await service.request('GET', `/v1/cases/${created.body.caseId}`, { as: { agency: AGENCIES.sds } });
      const metrics = await service.request('GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/ledger_http_requests_total\{method="POST",route="\/v1\/referrals",status="201"\} 1/);
      expect(metrics.body).toMatch(/ledger_http_requests_total\{method="GET",route="\/v1\/cases\/:id",status="200"\} 1/);
      expect(metrics.body).not.toContain(created.body.caseId);
      expect(metrics.body).toContain('process_cpu_user_seconds_total');
    } finally {
      await service.stop();
    }
  });
});
