import { AGENCIES, PERSON, PROTOCOL_TERMS } from '../support/fixtures';
import { startService, type TestService } from '../support/test-app';

const admin = { agency: AGENCIES.sds, roles: ['admin' as const] };

describe('the zone protocol over HTTP', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => service?.stop());

  it('answers 403 to everyone before the first protocol: no agency is a party yet (ENTITLEMENTS.md "Parties only")', async () => {
    expect((await service.request('GET', '/v1/protocol', { as: admin })).status).toBe(403);
    const referral = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body: { person: PERSON, needs: ['employment'] } });
    expect(referral.status).toBe(403);
  });

  it('refuses a protocol that does not list the signing agency', async () => {
    const response = await service.request('PUT', '/v1/protocol', { as: { agency: 'comune-di-pescia', roles: ['admin'] }, body: PROTOCOL_TERMS });
    expect(response.status).toBe(422);
    expect(response.body.rule).toBe('protocol-party-required');
  });

  it('validates the terms: known kinds, dates in order, each party once', async () => {
    const badKind = await service.request('PUT', '/v1/protocol', {
      as: admin,
      body: { ...PROTOCOL_TERMS, parties: [...PROTOCOL_TERMS.parties, { agency: 'parrocchia-pescia', name: 'Parrocchia', kind: 'church' }] },
    });
    expect(badKind.status).toBe(400);
    expect(badKind.body.issues.map((i: { path: string }) => i.path)).toEqual(['parties.7.kind']);
    const inconsistent = await service.request('PUT', '/v1/protocol', {
      as: admin,
      body: { ...PROTOCOL_TERMS, validUntil: '2020-01-01', parties: [...PROTOCOL_TERMS.parties, { agency: AGENCIES.sds, name: 'again', kind: 'social-services' }] },
    });
    expect(inconsistent.status).toBe(400);
    expect(inconsistent.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['parties.7.agency', 'validUntil']);
  });

  it('signs the first protocol with every default resolved, then renews it', async () => {
    const { consentRequired: _c, retentionYearsAfterClosure: _r, ...minimal } = PROTOCOL_TERMS;
    const signed = await service.request('PUT', '/v1/protocol', { as: admin, body: minimal });
    expect(signed.status).toBe(200);
    expect(signed.headers.get('etag')).toBe('"0"');
    expect(signed.body).toMatchObject({ zone: 'valdinievole', version: 1, revision: 0, consentRequired: ['special', 'health', 'judicial'], retentionYearsAfterClosure: 10 });
    const serd = signed.body.parties.find((p: { agency: string }) => p.agency === AGENCIES.serd);
    expect(serd).toEqual({ agency: AGENCIES.serd, name: expect.any(String), kind: 'addiction-services', minimalEquipe: false, receivable: ['common', 'special', 'health'] });

    const stale = await service.request('PUT', '/v1/protocol', { as: admin, body: PROTOCOL_TERMS, headers: { 'if-match': '"5"' } });
    expect(stale.status).toBe(412);
    const renewed = await service.request('PUT', '/v1/protocol', { as: admin, body: { ...PROTOCOL_TERMS, validUntil: '2035-02-04' }, headers: { 'if-match': '"0"' } });
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ version: 2, revision: 1, validUntil: '2035-02-04' });

    const current = await service.request('GET', '/v1/protocol', { as: { agency: AGENCIES.cpi, roles: ['operator'] } });
    expect(current.status).toBe(200);
    expect(current.body).toEqual(renewed.body);
    expect(current.headers.get('etag')).toBe('"1"');
  });

  it('shows the protocol only to its parties', async () => {
    const outsider = await service.request('GET', '/v1/protocol', { as: { agency: 'comune-di-pescia', roles: ['operator'] } });
    expect(outsider.status).toBe(403);
  });
});
