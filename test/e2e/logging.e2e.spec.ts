import type { EventStore } from '../../events/event-store';
import { AGENCIES } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/** Distinctive personal data: if any of it shows up in a log line, the log leaks. */
const PERSON = {
  fiscalCode: 'MRTMTT25D09F205Z',
  givenName: 'Ottavina',
  familyName: 'Quaglierini',
  birthDate: '1925-04-09',
  phone: '+39 0572 998877',
  email: 'ottavina.quaglierini@example.org',
  address: 'Via delle Camelie 17, Pescia',
};
const SECRETS = [...Object.values(PERSON), 'metadone-scalare-zqx', 'impegno-segreto-zqx', 'descrizione-obiettivo-zqx'];

describe('logs', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ env: { LOG_LEVEL: 'trace' } });
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  it('carry the request id and never personal data from bodies, paths or errors', async () => {
    const as = { agency: AGENCIES.sds, roles: ['coordinator' as const] };
    const created = await service.request('POST', '/v1/referrals', {
      as,
      body: { person: PERSON, needs: ['addiction'], notes: [{ category: 'health', text: 'metadone-scalare-zqx' }] },
      headers: { 'x-request-id': '7d0f3b6e-1c2a-4e59-9b8d-3f6a2c1e0d77' },
    });
    expect(created.status).toBe(201);
    const caseId = created.body.caseId;
    await service.request('POST', `/v1/cases/${caseId}/taking-in-charge`, { as, body: { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'addiction' } });
    await service.request('POST', `/v1/cases/${caseId}/plan/revisions`, {
      as,
      body: { objectives: [{ id: 'o1', dimension: 'addiction', description: 'descrizione-obiettivo-zqx', term: 'long' }], interventions: [], commitments: ['impegno-segreto-zqx'] },
    });
    // Refused requests echo nothing either: a validation error, a rule violation, a bad token.
    await service.request('POST', '/v1/referrals', { as, body: { person: { ...PERSON, fiscalCode: 'MRTMTT25D09F205A' }, needs: ['addiction'] } });
    await service.request('POST', '/v1/referrals', { as, body: { person: PERSON, needs: ['addiction'], notes: [{ category: 'medical', text: 'metadone-scalare-zqx' }] } });
    await service.request('POST', '/v1/referrals', { authorization: `Bearer ${PERSON.fiscalCode}`, body: { person: PERSON, needs: ['addiction'] } });
    // A fiscal code in a path or a query string.
    await service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}?who=${PERSON.familyName}`, { as });
    // Whatever is typed where a case id goes: a name, a fiscal code percent-encoded; a path no route has.
    await service.request('GET', `/v1/cases/${PERSON.givenName}%20${PERSON.familyName}`, { as });
    await service.request('GET', `/v1/cases/${PERSON.fiscalCode.slice(0, -1)}%${PERSON.fiscalCode.charCodeAt(15).toString(16)}`, { as });
    await service.request('GET', `/v1/${PERSON.familyName}`, { as });

    const lines = service.logs.join('\n');
    expect(service.logs.some((l) => l.includes('"7d0f3b6e-1c2a-4e59-9b8d-3f6a2c1e0d77"'))).toBe(true);
    expect(service.logs.some((l) => l.includes('/v1/access-trail/subjects/[redacted]'))).toBe(true);
    expect(service.logs.filter((l) => l.includes('"GET /v1/cases/[redacted] 400"'))).toHaveLength(2);
    expect(service.logs.some((l) => l.includes('"GET [no route] 404"'))).toBe(true);
    expect(lines).not.toContain(PERSON.fiscalCode.slice(0, -1));
    for (const secret of SECRETS) expect({ secret, leaked: lines.includes(secret) }).toEqual({ secret, leaked: false });
    expect(lines).not.toMatch(/Bearer /);
  });

  it('log a failure with its error in the server, and answer 500 without a stack trace', async () => {
    const store = service.store as EventStore & { append: EventStore['append'] };
    const append = store.append.bind(store);
    store.append = async () => {
      throw new Error('disk on fire');
    };
    try {
      const response = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body: { person: PERSON, needs: ['employment'] } });
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: 'internal', message: 'internal error' });
      expect(JSON.stringify(response.body)).not.toMatch(/disk on fire|at .*\.ts/);
      expect(service.logs.some((l) => l.includes('disk on fire'))).toBe(true);
    } finally {
      store.append = append;
    }
  });
});
