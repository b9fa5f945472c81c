import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Role } from '../../src/access/actor';
import { caseStream } from '../../events';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { signProtocol, startService, type TestResponse, type TestService } from '../support/test-app';

type As = { agency: string; roles: Role[] };
const sds: As = { agency: AGENCIES.sds, roles: ['operator'] };
const sdsCoordinator: As = { agency: AGENCIES.sds, roles: ['coordinator'] };
const cpi: As = { agency: AGENCIES.cpi, roles: ['operator'] };
const serd: As = { agency: AGENCIES.serd, roles: ['operator'] };
const uepe: As = { agency: AGENCIES.uepe, roles: ['operator'] };

const referral = { person: PERSON, needs: ['employment', 'addiction'], programmes: ['GOL-4'], notes: [{ category: 'health', text: 'in treatment at SerD since 2023' }] };

function expectCreated(response: TestResponse) {
  if (response.status !== 201) throw new Error(`expected 201, got ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { caseId: string; revision: number; position: number; consentId?: string; planRevision?: number };
}

/** Events of a case, read straight from the SQLite file through a connection of its own. */
function eventsOnDisk(service: TestService, caseId: string): string[] {
  const db = new Database(join(service.dataDir, 'ledger.db'), { readonly: true });
  try {
    return db
      .prepare<[string], { type: string }>('SELECT type FROM events WHERE stream = ? ORDER BY revision')
      .all(caseStream(ZONE, caseId))
      .map((r) => r.type);
  } finally {
    db.close();
  }
}

describe('case commands over HTTP', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  async function refer(as = serd) {
    return expectCreated(await service.request('POST', '/v1/referrals', { as, body: referral }));
  }

  describe('the life of a case', () => {
    it('goes from referral to closure and reopening, every step durable before its 201', async () => {
      const created = await service.request('POST', '/v1/referrals', { as: serd, body: referral });
      const { caseId, revision } = expectCreated(created);
      expect(created.headers.get('location')).toBe(`/v1/cases/${caseId}`);
      expect(revision).toBe(0);
      expect(eventsOnDisk(service, caseId)).toEqual(['ReferralSubmitted']);

      const consent = expectCreated(
        await service.request('POST', `/v1/cases/${caseId}/consents`, {
          as: sds,
          body: {
            // Social services may add a health service to the team once the person authorises them to receive health data.
            grants: [
              { agency: AGENCIES.mentalHealth, categories: ['health'] },
              { agency: AGENCIES.sds, categories: ['health'] },
            ],
            legalBasis: 'explicit-consent',
            informativaVersion: 'SILL-2025-01',
            collectionMethod: 'written',
            signedBy: 'person',
            collectedAt: '2025-06-01T09:00:00Z',
          },
        }),
      );
      expect(consent.consentId).toMatch(/^[0-9a-f-]{36}$/);

      const steps: Array<[string, object, As]> = [
        ['taking-in-charge', { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }, sdsCoordinator],
        ['members', { agency: AGENCIES.serd, tier: 'extended' }, sdsCoordinator],
        ['decisions', { decision: 'extend-equipe', heldOn: '2025-06-03', participants: [AGENCIES.sds, AGENCIES.cpi, AGENCIES.serd] }, sds],
      ];
      for (const [path, body, as] of steps) expectCreated(await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body }));

      const plan = expectCreated(
        await service.request('POST', `/v1/cases/${caseId}/plan/revisions`, {
          as: cpi,
          body: {
            objectives: [{ id: 'o1', dimension: 'employment', description: 'a work internship', term: 'short', dueDate: '2025-12-31' }],
            interventions: [{ id: 'i1', code: 'A2.09', description: 'tirocinio di inclusione', responsibleAgency: AGENCIES.cpi, from: '2025-07-01', programme: 'GOL-4' }],
            commitments: ['attend the weekly interviews at the CPI'],
          },
        }),
      );
      expect(plan.planRevision).toBe(1);
      const more: Array<[string, object, As]> = [
        ['plan/revisions/1/agreement', { agreedOn: '2025-06-20' }, cpi],
        ['plan/revisions/1/validation', {}, sdsCoordinator],
        ['verifications', { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'in-progress' }], nextDue: '2025-09-30' }, cpi],
        ['non-compliance', { commitment: 'attend the weekly interviews at the CPI' }, cpi],
        ['notes', { notes: [{ category: 'common', text: 'back on track after the team meeting' }] }, sds],
        ['outcomes', { outcomes: ['internship', 'training'] }, cpi],
        // SdS sees SerD's membership only while the person's authorisation stands: it removes SerD first.
        ['members/serd-valdinievole/removal', {}, sdsCoordinator],
        [`consents/${consent.consentId}/withdrawal`, {}, sds],
        ['closure', { reason: 'objectives-achieved' }, sdsCoordinator],
        ['reopening', { notes: [{ category: 'common', text: 'new contract ended' }] }, sdsCoordinator],
      ];
      let last = 0;
      for (const [path, body, as] of more) {
        const accepted = expectCreated(await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body }));
        expect(accepted.caseId).toBe(caseId);
        expect(accepted.revision).toBeGreaterThan(last);
        last = accepted.revision;
      }
      expect(eventsOnDisk(service, caseId)).toEqual([
        'ReferralSubmitted',
        'ConsentRecorded',
        'CaseTakenInCharge',
        'TeamMemberAdded',
        'TeamDecisionRecorded',
        'PlanRevisionDrafted',
        'PlanRevisionAgreed',
        'PlanRevisionValidated',
        'VerificationRecorded',
        'NonComplianceReported',
        'NoteRecorded',
        'OutcomeRecorded',
        'TeamMemberRemoved',
        'ConsentWithdrawn',
        'CaseClosed',
        'CaseReopened',
      ]);
    });

    it('records the actor, agency, zone and request ids from the token and the request, never from the body', async () => {
      const requestId = '4a7c1e2b-9d3f-4b6a-8c21-5e0f7a9b3c42';
      const created = await service.request('POST', '/v1/referrals', { as: { ...serd, sub: 'dr-verdi' }, body: referral, headers: { 'x-request-id': requestId } });
      const { caseId } = expectCreated(created);
      const [event] = await service.store.readStream(caseStream(ZONE, caseId));
      expect(event!.metadata).toMatchObject({ zone: ZONE, agency: AGENCIES.serd, operator: 'dr-verdi', correlationId: requestId });
      expect(created.headers.get('x-request-id')).toBe(requestId);
      // A request id that is not a UUID never reaches the ledger: it might carry anything, a fiscal code included.
      const free = await service.request('POST', '/v1/referrals', { as: serd, body: { ...referral, notes: [] }, headers: { 'x-request-id': 'RSSMRA85T10A562S' } });
      const freeEvent = (await service.store.readStream(caseStream(ZONE, expectCreated(free).caseId)))[0]!;
      expect(freeEvent.metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(free.headers.get('x-request-id')).toBe(freeEvent.metadata.correlationId);
      const forged = await service.request('POST', '/v1/referrals', { as: serd, body: { ...referral, agency: AGENCIES.sds } });
      expect(forged.status).toBe(400);
      expect(forged.body.issues).toEqual([{ path: 'agency', message: 'unknown field' }]);
    });
  });

  describe('refusals', () => {
    it('answers 400 with the path of every bad field, and writes nothing', async () => {
      const before = await service.store.headPosition();
      const response = await service.request('POST', '/v1/referrals', {
        as: serd,
        body: { person: { ...PERSON, fiscalCode: 'RSSMRA85T10A562T', email: 'not-an-email', nickname: 'x' }, needs: ['sleep'], notes: [{ category: 'secret', text: '' }] },
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('validation');
      const paths = response.body.issues.map((i: { path: string }) => i.path).sort();
      expect(paths).toEqual(['needs.0', 'notes.0.category', 'notes.0.text', 'person.email', 'person.fiscalCode', 'person.nickname']);
      expect(response.body.issues.find((i: { path: string }) => i.path === 'person.fiscalCode').message).toBe('fiscal code check character does not match');
      expect(await service.store.headPosition()).toEqual(before);
    });

    it('refuses text no person or note holds (control characters, bidirectional overrides, unpaired surrogates) and a birth date to come, writing nothing', async () => {
      const before = await service.store.headPosition();
      const message = 'must not hold control characters, bidirectional overrides or unpaired surrogates';
      const cases: Array<[unknown, string, string]> = [
        [{ person: { ...PERSON, familyName: 'Ro\u0000ssi' }, needs: ['employment'] }, 'person.familyName', message],
        [{ person: { ...PERSON, givenName: 'Mario\u202e' }, needs: ['employment'] }, 'person.givenName', message],
        [{ person: { ...PERSON, givenName: 'Mario\nLuigi' }, needs: ['employment'] }, 'person.givenName', message],
        [{ person: { ...PERSON, address: 'Via Roma\u2066 1' }, needs: ['employment'] }, 'person.address', message],
        [{ person: PERSON, needs: ['employment'], notes: [{ category: 'common', text: 'a\ud800b' }] }, 'notes.0.text', message],
        [{ person: PERSON, needs: ['employment'], notes: [{ category: 'common', text: 'bell\u0007' }] }, 'notes.0.text', message],
        [{ person: { ...PERSON, birthDate: '2099-01-01' }, needs: ['employment'] }, 'person.birthDate', 'must not be in the future'],
      ];
      for (const [body, path, expected] of cases) {
        const response = await service.request('POST', '/v1/referrals', { as: serd, body });
        expect({ path, status: response.status, issues: response.body.issues }).toEqual({ path, status: 400, issues: [{ path, message: expected }] });
      }
      expect(await service.store.headPosition()).toEqual(before);
      // Lines, tabs, accents and characters outside the BMP are text like any other.
      const fine = await service.request('POST', '/v1/referrals', {
        as: serd,
        body: { person: { ...PERSON, familyName: 'D’Àngelo' }, needs: ['employment'], notes: [{ category: 'common', text: 'line one\n\tline two 😀' }] },
      });
      expect(fine.status).toBe(201);
    });

    it('lists at most 20 issues', async () => {
      const notes = Array.from({ length: 30 }, () => ({ category: 'nope', text: '' }));
      const response = await service.request('POST', '/v1/referrals', { as: serd, body: { person: PERSON, needs: ['employment'], notes } });
      expect(response.status).toBe(400);
      expect(response.body.issues).toHaveLength(20);
    });

    it('answers 400 for a malformed case id and a malformed If-Match', async () => {
      const badId = await service.request('POST', '/v1/cases/not-a-uuid/notes', { as: sds, body: { notes: [{ category: 'common', text: 'x' }] } });
      expect(badId.status).toBe(400);
      expect(badId.body.issues).toEqual([{ path: 'params.id', message: 'must be a case id (UUID)' }]);
      const { caseId } = await refer();
      const badEtag = await service.request('POST', `/v1/cases/${caseId}/notes`, {
        as: sds,
        body: { notes: [{ category: 'common', text: 'x' }] },
        headers: { 'if-match': 'three' },
      });
      expect(badEtag.status).toBe(400);
      expect(badEtag.body.issues[0].path).toBe('headers.if-match');
      // A number that fails two checks with one message is one issue, not the same one twice.
      const hugeRevision = await service.request('POST', `/v1/cases/${caseId}/plan/revisions/99999999999999999999/agreement`, { as: sds, body: { agreedOn: '2025-01-01' } });
      expect(hugeRevision.status).toBe(400);
      expect(hugeRevision.body.issues).toEqual([{ path: 'params.n', message: 'must be a plan revision number' }]);
    });

    it('answers 422 with the rule that refused the command, and writes nothing', async () => {
      const { caseId } = await refer();
      const cases: Array<[string, object, As, string]> = [
        [
          'plan/revisions',
          { objectives: [{ id: 'o1', dimension: 'employment', description: 'x', term: 'short' }], interventions: [], commitments: [] },
          sds,
          'plan-before-taking-in-charge',
        ],
        ['notes', { notes: [{ category: 'common', text: 'x' }] }, serd, 'not-a-member'],
        ['members', { agency: AGENCIES.cpi, tier: 'minimal' }, sdsCoordinator, 'already-member'],
        ['members/arti-cpi-pescia/removal', {}, sdsCoordinator, 'minimal-equipe-fixed'],
        ['members/caritas-pescia/removal', {}, sdsCoordinator, 'not-a-member-of-case'],
        ['members/uepe-pistoia/removal', {}, sdsCoordinator, 'not-entitled'],
        ['members', { agency: AGENCIES.serd, tier: 'extended' }, sdsCoordinator, 'not-entitled'],
        ['members', { agency: 'comune-di-lucca', tier: 'extended' }, sdsCoordinator, 'not-a-party'],
        ['plan/revisions/1/agreement', { agreedOn: '2025-06-01' }, sds, 'unknown-plan-revision'],
        ['closure', { reason: 'dropped-out' }, sdsCoordinator, 'closure-needs-outcome'],
        ['reopening', {}, sdsCoordinator, 'case-not-closed'],
        ['consents/6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11/withdrawal', {}, sds, 'unknown-consent'],
      ];
      for (const [path, body, as, rule] of cases) {
        const response = await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body });
        expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 422, body: { error: 'rule-violation', message: expect.any(String), rule } });
      }
      expect(eventsOnDisk(service, caseId)).toEqual(['ReferralSubmitted']);
    });

    it('answers 404 for an unknown case and, identically, for a case that does not exist for the caller', async () => {
      const { caseId } = await refer(sds);
      const body = { notes: [{ category: 'common', text: 'x' }] };
      const unknown = await service.request('POST', '/v1/cases/6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11/notes', { as: uepe, body });
      const invisible = await service.request('POST', `/v1/cases/${caseId}/notes`, { as: uepe, body });
      expect(unknown.status).toBe(404);
      expect(invisible.status).toBe(404);
      expect(invisible.body).toEqual(unknown.body);
      const withIfMatch = await service.request('POST', `/v1/cases/${caseId}/notes`, { as: uepe, body, headers: { 'if-match': '"7"' } });
      expect(withIfMatch.status).toBe(404);
    });

    it('answers 404 in the API error shape for an unknown route', async () => {
      const response = await service.request('GET', '/v1/nowhere', { as: sds });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: 'not-found', message: 'not found' });
    });

    it('answers 413 for a body over 256 KiB and 415 for anything but JSON', async () => {
      const big = await service.request('POST', '/v1/referrals', {
        as: serd,
        rawBody: JSON.stringify({ ...referral, pad: 'x'.repeat(270_000) }),
        headers: { 'content-type': 'application/json' },
      });
      expect(big.status).toBe(413);
      expect(big.body.error).toBe('payload-too-large');
      const text = await service.request('POST', '/v1/referrals', { as: serd, rawBody: 'person=Mario', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      expect(text.body.error).toBe('unsupported-media-type');
      const form = await service.request('POST', '/v1/referrals', { as: serd, rawBody: 'person=Mario', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).toBe(415);
      const broken = await service.request('POST', '/v1/referrals', { as: serd, rawBody: '{"person":', headers: { 'content-type': 'application/json' } });
      expect(broken.status).toBe(400);
      expect(broken.body.error).toBe('validation');
    });

    it('marks every /v1 answer, errors included, no-store, and names no framework', async () => {
      for (const response of [
        await service.request('POST', '/v1/referrals', { as: serd, body: referral }),
        await service.request('POST', '/v1/referrals', { as: serd, body: {} }),
        await service.request('GET', '/v1/protocol'),
      ]) {
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect(response.headers.get('x-powered-by')).toBeNull();
      }
    });
  });

  describe('If-Match', () => {
    it('applies a command at the revision it names and answers 412, writing nothing, once the case has moved on', async () => {
      const { caseId, revision } = await refer();
      const note = { notes: [{ category: 'common', text: 'first' }] };
      const ok = expectCreated(await service.request('POST', `/v1/cases/${caseId}/notes`, { as: sds, body: note, headers: { 'if-match': `"${revision}"` } }));
      expect(ok.revision).toBe(revision + 1);
      const stale = await service.request('POST', `/v1/cases/${caseId}/notes`, { as: cpi, body: note, headers: { 'if-match': `"${revision}"` } });
      expect(stale.status).toBe(412);
      expect(stale.body.error).toBe('precondition-failed');
      expect(eventsOnDisk(service, caseId)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    });
  });

  describe('Idempotency-Key', () => {
    it('answers a repeat with the first response and writes nothing more', async () => {
      const headers = { 'idempotency-key': 'referral-2025-06-01-0001' };
      const first = await service.request('POST', '/v1/referrals', { as: serd, body: referral, headers });
      const repeat = await service.request('POST', '/v1/referrals', {
        as: serd,
        body: { notes: referral.notes, needs: referral.needs, programmes: referral.programmes, person: PERSON },
        headers,
      });
      expect(repeat.status).toBe(201);
      expect(repeat.body).toEqual(first.body);
      expect(repeat.headers.get('location')).toBe(first.headers.get('location'));
      expect(eventsOnDisk(service, first.body.caseId)).toEqual(['ReferralSubmitted']);
    });

    it('answers 422 idempotency-key-reused for the same key with another body', async () => {
      const headers = { 'idempotency-key': 'k-reused' };
      expectCreated(await service.request('POST', '/v1/referrals', { as: serd, body: referral, headers }));
      const other = await service.request('POST', '/v1/referrals', { as: serd, body: { ...referral, urgency: 'urgent' }, headers });
      expect(other.status).toBe(422);
      expect(other.body.rule).toBe('idempotency-key-reused');
    });

    it('answers a retry with the case id in capitals as the repeat it is (the same case)', async () => {
      const { caseId } = await refer();
      const headers = { 'idempotency-key': 'note-capitals' };
      const body = { notes: [{ category: 'common', text: 'sent twice' }] };
      const first = await service.request('POST', `/v1/cases/${caseId}/notes`, { as: sds, body, headers });
      expect(first.status).toBe(201);
      const retry = await service.request('POST', `/v1/cases/${caseId.toUpperCase()}/notes`, { as: sds, body, headers });
      expect({ status: retry.status, body: retry.body, replayed: retry.headers.get('idempotent-replayed') }).toEqual({ status: 201, body: first.body, replayed: 'true' });
      expect(eventsOnDisk(service, caseId)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    });

    it('keeps keys apart per agency', async () => {
      const headers = { 'idempotency-key': 'shared-key' };
      const a = expectCreated(await service.request('POST', '/v1/referrals', { as: serd, body: referral, headers }));
      const b = expectCreated(await service.request('POST', '/v1/referrals', { as: sds, body: referral, headers }));
      expect(a.caseId).not.toBe(b.caseId);
    });

    it('applies concurrent repeats of one keyed command once', async () => {
      const { caseId } = await refer();
      const headers = { 'idempotency-key': 'note-once' };
      const body = { notes: [{ category: 'common', text: 'only once' }] };
      const responses = await Promise.all(Array.from({ length: 5 }, () => service.request('POST', `/v1/cases/${caseId}/notes`, { as: sds, body, headers })));
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
      expect(new Set(responses.map((r) => r.body.revision)).size).toBe(1);
      expect(eventsOnDisk(service, caseId)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    });
  });

  describe('free text with a declared category', () => {
    const note = (letter: string, length: number) => ({ category: 'common', text: letter.repeat(length) });
    const consent = (purpose: unknown) => ({
      grants: [{ agency: AGENCIES.sds, categories: ['health'] }],
      purposes: [purpose],
      legalBasis: 'explicit-consent',
      informativaVersion: 'SILL-2025-01',
      collectedAt: '2025-06-01T09:00:00Z',
    });
    const plan = (commitment: unknown) => ({
      objectives: [{ id: 'o1', dimension: 'employment', description: 'a work internship', term: 'short' }],
      interventions: [],
      commitments: [commitment],
    });
    // path, body with that free text, who sends it, the field's path, the letter of its text, a bare string's cap
    const fields: Array<[string, (text: unknown) => object, As, string, string, number]> = [
      ['consents', consent, sds, 'purposes.0', 'p', 200],
      ['plan/revisions', plan, cpi, 'commitments.0', 'c', 1_000],
      ['non-compliance', (commitment) => ({ commitment }), cpi, 'commitment', 'n', 1_000],
    ];

    /** A case taken in charge, where plans and non-compliance may be recorded. */
    async function takenInCharge(): Promise<string> {
      const { caseId } = await refer();
      expectCreated(
        await service.request('POST', `/v1/cases/${caseId}/taking-in-charge`, {
          as: sdsCoordinator,
          body: { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' },
        }),
      );
      return caseId;
    }

    it('accepts a Note-shaped purpose or commitment of 10,000 characters and refuses 10,001 with 400 naming the field', async () => {
      const caseId = await takenInCharge();
      for (const [path, body, as, field, letter] of fields) {
        const refused = await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body: body(note(letter, 10_001)) });
        expect({ path, status: refused.status, paths: refused.body.issues?.map((i: { path: string }) => i.path) }).toEqual({ path, status: 400, paths: [`${field}.text`] });
        expectCreated(await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body: body(note(letter, 10_000)) }));
      }
      // Stored and read back whole: the events hold a note's text, not the shorter cap of a bare string.
      const stored = JSON.stringify((await service.store.readStream(caseStream(ZONE, caseId))).map((e) => e.data));
      for (const [, , , , letter] of fields) expect(stored).toContain(`"text":"${letter.repeat(10_000)}"`);
    });

    it('keeps the shorter cap of a bare string, which is a common note', async () => {
      const caseId = await takenInCharge();
      for (const [path, body, as, field, letter, cap] of fields) {
        const refused = await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body: body(letter.repeat(cap + 1)) });
        expect({ path, status: refused.status, paths: refused.body.issues?.map((i: { path: string }) => i.path) }).toEqual({ path, status: 400, paths: [field] });
        expectCreated(await service.request('POST', `/v1/cases/${caseId}/${path}`, { as, body: body(letter.repeat(cap)) }));
      }
      const stored = JSON.stringify((await service.store.readStream(caseStream(ZONE, caseId))).map((e) => e.data));
      for (const [, , , , letter, cap] of fields) expect(stored).toContain(`{"category":"common","text":"${letter.repeat(cap)}"}`);
    });
  });

  describe('concurrency', () => {
    it('serialises concurrent commands on one case: none lost, none applied twice', async () => {
      const { caseId } = await refer();
      const n = 40;
      const responses = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          service.request('POST', `/v1/cases/${caseId}/notes`, { as: i % 2 ? sds : cpi, body: { notes: [{ category: 'common', text: `note ${i}` }] } }),
        ),
      );
      expect(responses.every((r) => r.status === 201)).toBe(true);
      expect(new Set(responses.map((r) => r.body.revision)).size).toBe(n);
      const events = await service.store.readStream(caseStream(ZONE, caseId));
      const texts = events.slice(1).map((e) => (e.data as { notes: Array<{ text: string }> }).notes[0]!.text);
      expect(texts.sort()).toEqual(Array.from({ length: n }, (_, i) => `note ${i}`).sort());
    });
  });
});

describe('bodies that are not objects', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  it('refuses null, arrays and strings as bodies, and reads a missing body as {}', async () => {
    const as = { agency: AGENCIES.sds, roles: ['coordinator' as const] };
    for (const rawBody of ['null', '[]', '"x"', '42']) {
      const response = await service.request('POST', '/v1/referrals', { as, rawBody, headers: { 'content-type': 'application/json' } });
      expect({ rawBody, status: response.status }).toEqual({ rawBody, status: 400 });
    }
    const created = await service.request('POST', '/v1/referrals', { as, body: { person: PERSON, needs: ['employment'] } });
    const reopen = await service.request('POST', `/v1/cases/${created.body.caseId}/reopening`, { as });
    expect(reopen.status).toBe(422);
    expect(reopen.body.rule).toBe('case-not-closed');
  });
});
