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

    // Once a protocol is in force, an agency that is not one of its parties gets 403, as on every route of the zone.
    const outsider = await service.request('PUT', '/v1/protocol', { as: { agency: 'comune-di-pescia', roles: ['admin'] }, body: PROTOCOL_TERMS });
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toBe('forbidden');

    const current = await service.request('GET', '/v1/protocol', { as: { agency: AGENCIES.cpi, roles: ['operator'] } });
    expect(current.status).toBe(200);
    expect(current.body).toEqual(renewed.body);
    expect(current.headers.get('etag')).toBe('"1"');
  });

  describe('renewals that widen what a party receives (ENTITLEMENTS.md: no single agency can widen its own access)', () => {
    const adminOf = (agency: string) => ({ agency, roles: ['admin' as const] });
    const current = () => service.request('GET', '/v1/protocol', { as: adminOf(AGENCIES.cpi) });
    /** The terms in force now, with the CPI (employment centre) made to receive health data. */
    const cpiGetsHealth = (terms: typeof PROTOCOL_TERMS) => ({
      ...terms,
      validUntil: '2035-02-04',
      parties: terms.parties.map((p) => (p.agency === AGENCIES.cpi ? { ...p, receivable: ['common' as const, 'health' as const] } : p)),
    });

    it('keeps a widening as a proposal until every other party in both protocols approves, then puts it in force', async () => {
      const before = await current();
      const proposed = await service.request('PUT', '/v1/protocol', { as: adminOf(AGENCIES.cpi), body: cpiGetsHealth(PROTOCOL_TERMS) });
      expect(proposed.status).toBe(202);
      const others = PROTOCOL_TERMS.parties.map((p) => p.agency).filter((a) => a !== AGENCIES.cpi);
      expect(proposed.body).toEqual({ proposalId: expect.any(String), awaiting: others });
      const { proposalId } = proposed.body;

      // Nothing changed for anyone: the CPI still receives common data only; parties see the proposal.
      const waiting = await current();
      expect(waiting.body.parties).toEqual(before.body.parties);
      expect(waiting.body.version).toBe(before.body.version);
      expect(waiting.body.proposal).toMatchObject({ proposalId, proposedBy: AGENCIES.cpi, awaiting: others, approvedBy: [] });

      // The proposer cannot approve for the others, nor twice for itself.
      const self = await service.request('POST', `/v1/protocol/proposals/${proposalId}/approval`, { as: adminOf(AGENCIES.cpi), body: {} });
      expect(self.body.rule).toBe('not-awaited');
      for (const agency of others.slice(0, -1)) {
        const approved = await service.request('POST', `/v1/protocol/proposals/${proposalId}/approval`, { as: adminOf(agency), body: {} });
        expect(approved.status).toBe(202);
        expect(approved.body.awaiting).not.toContain(agency);
      }
      const last = await service.request('POST', `/v1/protocol/proposals/${proposalId}/approval`, { as: adminOf(others[others.length - 1]!), body: {} });
      expect(last.status).toBe(200);
      expect(last.body.version).toBe(before.body.version + 1);
      expect(last.body.parties.find((p: { agency: string }) => p.agency === AGENCIES.cpi).receivable).toEqual(['common', 'health']);
      expect(last.body.proposal).toBeUndefined();
    });

    it('puts a narrowing in force at once, and it supersedes a pending proposal', async () => {
      const terms = (await current()).body;
      const narrowTerms = (receivable: Array<'common' | 'health'>) => ({
        title: terms.title,
        validFrom: terms.validFrom,
        validUntil: terms.validUntil,
        consentRequired: terms.consentRequired,
        parties: terms.parties.map((p: { agency: string }) => ({
          ...p,
          receivable: p.agency === AGENCIES.cpi ? receivable : (p as unknown as { receivable: string[] }).receivable,
        })),
      });
      const widening = await service.request('PUT', '/v1/protocol', {
        as: adminOf(AGENCIES.serd),
        body: { ...narrowTerms(['common', 'health']), consentRequired: ['special', 'judicial'] },
      });
      expect(widening.status).toBe(202);
      const narrowed = await service.request('PUT', '/v1/protocol', { as: adminOf(AGENCIES.sds), body: narrowTerms(['common']) });
      expect(narrowed.status).toBe(200);
      expect(narrowed.body.parties.find((p: { agency: string }) => p.agency === AGENCIES.cpi).receivable).toEqual(['common']);
      const late = await service.request('POST', `/v1/protocol/proposals/${widening.body.proposalId}/approval`, { as: adminOf(AGENCIES.cpi), body: {} });
      expect(late.status).toBe(422);
      expect(late.body.rule).toBe('proposal-superseded');
      const unknown = await service.request('POST', '/v1/protocol/proposals/6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11/approval', { as: adminOf(AGENCIES.cpi), body: {} });
      expect(unknown.status).toBe(404);
    });
  });

  it('shows the protocol only to its parties', async () => {
    const outsider = await service.request('GET', '/v1/protocol', { as: { agency: 'comune-di-pescia', roles: ['operator'] } });
    expect(outsider.status).toBe(403);
  });
});
