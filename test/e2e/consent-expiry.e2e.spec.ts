import { caseStream } from '../../events';
import type { Clock } from '../../src/ledger/clock';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/** A clock the test moves by hand. */
class TestClock implements Clock {
  constructor(private instant: Date) {}
  now(): Date {
    return new Date(this.instant);
  }
  set(iso: string): void {
    this.instant = new Date(iso);
  }
}

describe('authorisations expire by themselves', () => {
  const clock = new TestClock(new Date('2025-06-02T09:00:00Z'));
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ clock });
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  it('appends ConsentExpired once validUntil has passed, once, and the views follow', async () => {
    const sds = { agency: AGENCIES.sds, roles: ['coordinator' as const] };
    const { caseId } = (await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.serd }, body: { person: PERSON, needs: ['addiction'] } })).body;
    // SdS may add a health service once the person authorises SdS to receive health data.
    const sdsAuthorised = {
      grants: [{ agency: AGENCIES.sds, categories: ['health'] }],
      legalBasis: 'explicit-consent',
      informativaVersion: 'v1',
      collectedAt: '2025-06-01T09:00:00Z',
    };
    expect((await service.request('POST', `/v1/cases/${caseId}/consents`, { as: sds, body: sdsAuthorised })).status).toBe(201);
    expect((await service.request('POST', `/v1/cases/${caseId}/members`, { as: sds, body: { agency: AGENCIES.mentalHealth, tier: 'extended' } })).status).toBe(201);
    const consent = await service.request('POST', `/v1/cases/${caseId}/consents`, {
      as: sds,
      body: {
        grants: [{ agency: AGENCIES.mentalHealth, categories: ['health'] }],
        legalBasis: 'explicit-consent',
        informativaVersion: 'v1',
        collectedAt: '2025-06-01T09:00:00Z',
        validUntil: '2025-06-30T23:59:59Z',
      },
    });
    expect(consent.status).toBe(201);
    const before = await service.request('GET', `/v1/cases/${caseId}`, { as: { agency: AGENCIES.mentalHealth } });
    expect(before.body.needs).toEqual(['addiction']);

    const expiry = service.ledger.parts.expiry;
    expect(await expiry.tick()).toBe(0);
    clock.set('2025-07-01T00:00:00Z');
    expect(await expiry.tick()).toBe(1);

    const events = await service.store.readStream(caseStream(ZONE, caseId));
    const expired = events.filter((e) => e.type === 'ConsentExpired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.metadata).toMatchObject({ agency: 'ledger', operator: 'ledger:consent-expiry', occurredAt: '2025-07-01T00:00:00.000Z' });
    expect(expired[0]!.data).toEqual({ consentId: consent.body.consentId, validUntil: '2025-06-30T23:59:59.000Z' });

    const after = await service.request('GET', `/v1/cases/${caseId}`, { as: { agency: AGENCIES.mentalHealth } });
    expect(after.body.needs).toBeUndefined();
    expect(after.body.consents[0]).toMatchObject({ status: 'expired' });
    expect(await expiry.tick()).toBe(0);
    expect((await service.store.readStream(caseStream(ZONE, caseId))).filter((e) => e.type === 'ConsentExpired')).toHaveLength(1);

    // An auditor's page of the ledger puts the case on the trail with what its agencies' entries
    // are: the service's own expiry adds no agency's membership (no judicial nor special data here).
    const auditor = { agency: AGENCIES.coordination, roles: ['auditor' as const] };
    expect((await service.request('GET', '/v1/audit/events?limit=500', { as: auditor })).status).toBe(200);
    const trail = await service.request('GET', `/v1/access-trail?caseId=${caseId}&limit=500`, { as: { agency: AGENCIES.coordination, roles: ['dpo' as const] } });
    const page = (trail.body.items as Array<{ action: string; categories: string[] }>).find((r) => r.action === 'audit.events');
    expect(page?.categories).toEqual(['common', 'health']);
  });

  it('expires an authorisation within about a second of its deadline, by itself', async () => {
    // The service's own timer at its default, on the machine's clock: no tick by hand.
    const live = await startService({ consentExpiryIntervalMs: null });
    try {
      await signProtocol(live);
      const sds = { agency: AGENCIES.sds, roles: ['coordinator' as const] };
      const { caseId } = (await live.request('POST', '/v1/referrals', { as: { agency: AGENCIES.serd }, body: { person: PERSON, needs: ['addiction'] } })).body;
      const validUntil = new Date(Date.now() + 1_500).toISOString();
      const recorded = await live.request('POST', `/v1/cases/${caseId}/consents`, {
        as: sds,
        body: {
          grants: [{ agency: AGENCIES.sds, categories: ['health'] }],
          legalBasis: 'explicit-consent',
          informativaVersion: 'v1',
          collectedAt: new Date().toISOString(),
          validUntil,
        },
      });
      expect(recorded.status).toBe(201);
      const expired = async () => (await live.store.readStream(caseStream(ZONE, caseId))).find((e) => e.type === 'ConsentExpired');
      const deadline = Date.now() + 10_000;
      while (!(await expired()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const event = await expired();
      expect(event).toBeDefined();
      // Appended after the deadline, and not a minute later.
      const lateBy = Date.parse(event!.metadata.occurredAt) - Date.parse(validUntil);
      expect(lateBy).toBeGreaterThanOrEqual(0);
      expect(lateBy).toBeLessThan(5_000);
    } finally {
      await live.stop();
    }
  });
});
