import { randomUUID } from 'node:crypto';
import type { Role } from '../../src/access/actor';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

type As = { agency: string; roles: Role[] };
const op = (agency: string): As => ({ agency, roles: ['operator'] });
const coordinator = (agency: string): As => ({ agency, roles: ['coordinator'] });
const dpo = (agency: string): As => ({ agency, roles: ['dpo'] });

describe('per-agency reads over HTTP', () => {
  let service: TestService;
  let caseId: string;
  let consentId: string;

  async function post(path: string, as: As, body: unknown) {
    const response = await service.request('POST', path, { as, body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }
  const view = (as: As) => service.request('GET', `/v1/cases/${caseId}`, { as });

  /** The service's clock runs this far ahead of the machine's (the activity report counts months that have ended). */
  let ahead = 0;
  beforeAll(async () => {
    service = await startService({ clock: { now: () => new Date(Date.now() + ahead) } });
    await signProtocol(service);
    ({ caseId } = await post('/v1/referrals', op(AGENCIES.serd), {
      person: PERSON,
      needs: ['employment', 'addiction'],
      programmes: ['GOL-4'],
      notes: [{ category: 'health', text: 'methadone programme, stable' }],
    }));
    await post(`/v1/cases/${caseId}/taking-in-charge`, coordinator(AGENCIES.sds), { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' });
    ({ consentId } = await post(`/v1/cases/${caseId}/consents`, op(AGENCIES.sds), {
      grants: [
        { agency: AGENCIES.mentalHealth, categories: ['health'] },
        { agency: AGENCIES.sds, categories: ['health'] },
      ],
      legalBasis: 'explicit-consent',
      informativaVersion: 'SILL-2025-01',
      collectedAt: '2025-06-01T09:00:00Z',
    }));
    await post(`/v1/cases/${caseId}/members`, coordinator(AGENCIES.sds), { agency: AGENCIES.serd, tier: 'extended' });
    await post(`/v1/cases/${caseId}/members`, coordinator(AGENCIES.sds), { agency: AGENCIES.mentalHealth, tier: 'extended' });
    await post(`/v1/cases/${caseId}/notes`, op(AGENCIES.serd), { notes: [{ category: 'common', text: 'prefers morning shifts' }] });
  });
  afterAll(async () => service?.stop());

  it('shows each agency exactly what it is entitled to', async () => {
    const cpi = await view(op(AGENCIES.cpi));
    expect(cpi.status).toBe(200);
    expect(cpi.body.needs).toEqual(['employment']);
    expect(cpi.body.members.map((m: { agency: string }) => m.agency)).toEqual([AGENCIES.sds, AGENCIES.cpi]);
    expect(cpi.body.referrer).toBeUndefined();
    expect(cpi.body.notes).toEqual([{ category: 'common', text: 'prefers morning shifts', at: expect.any(String) }]);
    // A grant carries its target's membership category and every category it grants: "health
    // granted to SdS" is health data. Both grants hidden, the CPI is not shown the authorisation at all.
    expect(cpi.body.consents).toBeUndefined();

    const ufsma = await view(op(AGENCIES.mentalHealth));
    expect(ufsma.body.needs).toEqual(['employment', 'addiction']);
    expect(ufsma.body.notes.map((n: { text: string }) => n.text)).toContain('methadone programme, stable');
    expect(ufsma.body.referrer).toBe(AGENCIES.serd);

    const uepe = await view(op(AGENCIES.uepe));
    expect(uepe.status).toBe(404);
  });

  it('sends the revision as ETag and answers no-store', async () => {
    const response = await view(op(AGENCIES.sds));
    expect(response.headers.get('etag')).toBe(`"${response.body.revision}"`);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('reads and writes a case whose id is written in capitals as the same case (UUIDs are case-insensitive)', async () => {
    const upper = caseId.toUpperCase();
    const read = await service.request('GET', `/v1/cases/${upper}`, { as: op(AGENCIES.sds) });
    expect(read.status).toBe(200);
    expect(read.body).toEqual((await view(op(AGENCIES.sds))).body);
    expect((await service.request('GET', `/v1/cases/${upper}/history`, { as: op(AGENCIES.sds) })).status).toBe(200);
    const noted = await post(`/v1/cases/${upper}/notes`, op(AGENCIES.sds), { notes: [{ category: 'common', text: 'id in capitals' }] });
    expect(noted.caseId).toBe(caseId);
  });

  it('refuses query parameters on the reads that take none, as the reads that take some do (a limit would be believed to page)', async () => {
    const auditor = { agency: AGENCIES.coordination, roles: ['auditor' as const] };
    for (const [path, as] of [
      [`/v1/cases/${caseId}`, op(AGENCIES.sds)],
      [`/v1/cases/${caseId}/history`, op(AGENCIES.sds)],
      ['/v1/protocol', op(AGENCIES.sds)],
      ['/v1/audit/verify', auditor],
      ['/v1/audit/keys', auditor],
    ] as const) {
      const refused = await service.request('GET', `${path}?limit=2`, { as });
      expect({ path, status: refused.status, body: refused.body }).toEqual({
        path,
        status: 400,
        body: { error: 'validation', message: 'the request is not valid', issues: [{ path: 'query.limit', message: 'unknown field' }] },
      });
      expect((await service.request('GET', path, { as })).status).toBe(200);
    }
  });

  it('reflects a command in every later read, by any agency (read-your-writes)', async () => {
    const { revision } = await post(`/v1/cases/${caseId}/notes`, op(AGENCIES.cpi), { notes: [{ category: 'common', text: 'CV updated' }] });
    for (const agency of [AGENCIES.sds, AGENCIES.cpi, AGENCIES.mentalHealth, AGENCIES.serd]) {
      const response = await view(op(agency));
      expect({ agency, revision: response.body.revision }).toEqual({ agency, revision });
    }
  });

  it('hides, after a withdrawal, what the authorisation had shown', async () => {
    await post(`/v1/cases/${caseId}/consents/${consentId}/withdrawal`, op(AGENCIES.sds), {});
    const ufsma = await view(op(AGENCIES.mentalHealth));
    expect(ufsma.body.needs).toEqual(['employment']);
    expect(ufsma.body.notes.map((n: { text: string }) => n.text)).not.toContain('methadone programme, stable');
  });

  it('answers an invisible case exactly like an unknown one', async () => {
    const invisible = await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.uepe) });
    const unknown = await service.request('GET', '/v1/cases/6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11', { as: op(AGENCIES.uepe) });
    expect([invisible.status, unknown.status]).toEqual([404, 404]);
    expect(invisible.body).toEqual(unknown.body);
    expect((await service.request('GET', `/v1/cases/${caseId}/history`, { as: op(AGENCIES.uepe) })).status).toBe(404);
  });

  it('lists the cases that exist for the caller, with names only where identity is visible, in pages', async () => {
    const extra = await post('/v1/referrals', op(AGENCIES.cpi), { person: PERSON, needs: ['training'] });
    const first = await service.request('GET', '/v1/cases?limit=1', { as: op(AGENCIES.cpi) });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0].caseId).toBe(extra.caseId);
    expect(first.body.items[0].person).toEqual({ givenName: PERSON.givenName, familyName: PERSON.familyName });
    const second = await service.request('GET', `/v1/cases?limit=1&cursor=${first.body.nextCursor}`, { as: op(AGENCIES.cpi) });
    expect(second.body.items.map((i: { caseId: string }) => i.caseId)).toEqual([caseId]);
    const uepe = await service.request('GET', '/v1/cases', { as: op(AGENCIES.uepe) });
    expect(uepe.body).toEqual({ items: [], nextCursor: null });
    const bad = await service.request('GET', '/v1/cases?limit=9999&cursor=xyz', { as: op(AGENCIES.cpi) });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(['query.limit']);
  });

  it('pages the list by opening, so that a case updated while the pages are walked is not missed', async () => {
    const walk = async (between?: () => Promise<unknown>) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ caseId: string }>; nextCursor: string | null } } = await service.request(
          'GET',
          `/v1/cases?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          {
            as: op(AGENCIES.cpi),
          },
        );
        seen.push(...page.body.items.map((i) => i.caseId));
        cursor = page.body.nextCursor;
        if (seen.length === 1) await between?.();
      } while (cursor);
      return seen;
    };
    await post('/v1/referrals', op(AGENCIES.cpi), { person: PERSON, needs: ['training'] });
    const before = await walk();
    expect(before.length).toBeGreaterThan(1);
    expect(before[before.length - 1]).toBe(caseId);
    // After the first page, SerD writes a health note (hidden from the CPI) on the case listed last.
    const after = await walk(() => post(`/v1/cases/${before[before.length - 1]!}/notes`, op(AGENCIES.serd), { notes: [{ category: 'health', text: 'dose adjusted' }] }));
    expect(after).toEqual(before);
  });

  it('cuts the history to what the caller may see', async () => {
    const cpi = await service.request('GET', `/v1/cases/${caseId}/history`, { as: op(AGENCIES.cpi) });
    const types = cpi.body.items.map((i: { type: string }) => i.type);
    expect(types).not.toContain('TeamMemberAdded');
    expect(types).not.toContain('ConsentRecorded');
    const note = cpi.body.items.find((i: { data: { notes?: Array<{ text: string }> } }) => i.data.notes?.[0]?.text === 'prefers morning shifts');
    expect(note.agency).toBeUndefined();
  });

  it('shows a third-sector body on the team common data only, and nothing before it joins', async () => {
    const other = await post('/v1/referrals', op(AGENCIES.sds), {
      person: PERSON,
      needs: ['housing', 'mental-health'],
      notes: [
        { category: 'common', text: 'needs a room by winter' },
        { category: 'health', text: 'follows a psychiatric therapy' },
      ],
    });
    expect((await service.request('GET', `/v1/cases/${other.caseId}`, { as: op(AGENCIES.ets) })).status).toBe(404);
    await post(`/v1/cases/${other.caseId}/members`, coordinator(AGENCIES.sds), { agency: AGENCIES.ets, tier: 'extended' });
    const caritas = await service.request('GET', `/v1/cases/${other.caseId}`, { as: op(AGENCIES.ets) });
    expect(caritas.status).toBe(200);
    expect(caritas.body.needs).toEqual(['housing']);
    expect(caritas.body.notes.map((n: { text: string }) => n.text)).toEqual(['needs a room by winter']);
  });

  it('has the trail record on disk when the answer arrives', async () => {
    const requestId = randomUUID();
    const response = await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi), headers: { 'x-request-id': requestId } });
    expect(response.status).toBe(200);
    const trail = await service.store.readAll({ maxCount: 100_000, streamPrefixes: ['trail-'] });
    const record = trail.find((e) => e.metadata.correlationId === requestId);
    expect(record).toMatchObject({ type: 'AccessRecorded', data: { action: 'case.read', caseId, outcome: 'disclosed' } });
  });

  describe('the access trail', () => {
    it('records every disclosure and refusal before the answer, for the DPO of the reader and of the data', async () => {
      const byUs = await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${caseId}`, { as: dpo(AGENCIES.cpi) });
      expect(byUs.status).toBe(200);
      const reads = byUs.body.items.filter((r: { action: string }) => r.action === 'case.read');
      expect(reads.length).toBeGreaterThan(0);
      expect(reads[0]).toMatchObject({ agency: AGENCIES.cpi, caseId, outcome: 'disclosed', categories: ['common'], purpose: 'case-management', roles: ['operator'] });
      expect(reads[0].basis).toEqual(['authored', 'full-member', 'self-reference']);

      const uepeTrail = await service.request('GET', '/v1/access-trail?scope=by-us', { as: dpo(AGENCIES.uepe) });
      const refusals = uepeTrail.body.items.filter((r: { outcome: string }) => r.outcome === 'not-found');
      expect(refusals.map((r: { caseId: string }) => r.caseId)).toEqual(expect.arrayContaining([caseId, '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11']));

      const ofSerdData = await service.request('GET', '/v1/access-trail?scope=of-our-data', { as: dpo(AGENCIES.serd) });
      // Mental health read SerD's health note under the person's authorisation; SerD's agency, not
      // authorised itself to receive health data, is not shown mental health's membership: undisclosed,
      // and so is the authorisation it read under (its id is not SerD's to see).
      const undisclosed = ofSerdData.body.items.filter((r: { agency: string }) => r.agency === 'undisclosed');
      expect(undisclosed.length).toBeGreaterThan(0);
      expect(undisclosed.every((r: { basis: string[] }) => r.basis.length === 0)).toBe(true);
      // SdS is shown, having read SerD's note under the same authorisation: its basis keeps the rule
      // and loses the authorisation's id, which SerD's own view of the case does not show.
      expect((await view(op(AGENCIES.serd))).body.consents).toBeUndefined();
      const bySds = ofSerdData.body.items.filter((r: { agency: string }) => r.agency === AGENCIES.sds);
      expect(bySds.length).toBeGreaterThan(0);
      for (const r of bySds) expect(r.basis).toEqual(['full-member']);
      expect(JSON.stringify(ofSerdData.body.items)).not.toContain('consent:');
      expect(JSON.stringify(ofSerdData.body.items)).not.toContain(consentId);
      expect(ofSerdData.body.items.some((r: { agency: string }) => r.agency === AGENCIES.mentalHealth)).toBe(false);
      expect(ofSerdData.body.items.some((r: { agency: string }) => r.agency === AGENCIES.cpi)).toBe(true);
    });

    it("names in of-our-data only the readers whose membership the DPO's agency may see, with its own data's categories only", async () => {
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.serd), headers: { 'x-purpose': 'serd-intake' } })).status).toBe(200);
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.sds) })).status).toBe(200);
      const ofCpiData = await service.request('GET', `/v1/access-trail?scope=of-our-data&caseId=${caseId}`, { as: dpo(AGENCIES.cpi) });
      const items = ofCpiData.body.items as Array<{ agency: string; operator?: string; ip?: string; roles: string[]; purpose: string; categories: string[]; basis: string[] }>;
      const readers = new Set(items.map((r) => r.agency));
      // SerD's membership is health data the CPI may not see: its reads of the CPI's notes are shown, by an undisclosed reader.
      expect(readers).toContain('undisclosed');
      expect(readers).not.toContain(AGENCIES.serd);
      expect(readers).toContain(AGENCIES.sds);
      // Nothing the hidden reader brought is shown: not its operator, address, roles, purpose, nor the basis it read under.
      for (const r of items.filter((i) => i.agency === 'undisclosed')) {
        expect({ operator: r.operator, ip: r.ip, roles: r.roles, purpose: r.purpose, basis: r.basis }).toEqual({
          operator: undefined,
          ip: undefined,
          roles: [],
          purpose: 'undisclosed',
          basis: [],
        });
      }
      expect(JSON.stringify(items)).not.toContain('serd-intake');
      // Where the reader is shown, so is its address.
      expect(items.filter((i) => i.agency !== 'undisclosed').every((r) => typeof r.ip === 'string' && r.ip.length > 0)).toBe(true);
      // What the CPI's DPO reads is what was disclosed of the CPI's own data: common, never SerD's health notes.
      for (const r of items) expect(r.categories).toEqual(['common']);
    });

    it("matches an operator asked for in of-our-data against the readers shown: a hidden reader's operator finds nothing", async () => {
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.serd) })).status).toBe(200);
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.sds) })).status).toBe(200);
      const ofCpiData = (query: string) => service.request('GET', `/v1/access-trail?scope=of-our-data&caseId=${caseId}${query}`, { as: dpo(AGENCIES.cpi) });
      const all = (await ofCpiData('')).body.items as Array<{ agency: string; operator?: string }>;
      expect(all.some((r) => r.agency === 'undisclosed')).toBe(true);
      // SerD's operator read the CPI's data, but SerD's membership is hidden from the CPI: asking
      // for that operator must answer as for an operator who never read anything.
      for (const operator of [`op-${AGENCIES.serd}`, 'op-never-read']) {
        const asked = await ofCpiData(`&operator=${operator}`);
        expect(asked.status).toBe(200);
        expect(asked.body).toEqual({ items: [], nextCursor: null });
      }
      // A shown reader's operator finds its records, a page at a time, past the records it is not in.
      const bySds = all.filter((r) => r.operator === `op-${AGENCIES.sds}`);
      expect(bySds.length).toBeGreaterThan(1);
      const first = await ofCpiData(`&operator=op-${AGENCIES.sds}&limit=1`);
      expect(first.body.items).toEqual([bySds[0]]);
      const second = await ofCpiData(`&operator=op-${AGENCIES.sds}&limit=1&cursor=${first.body.nextCursor as string}`);
      expect(second.body.items).toEqual([bySds[1]]);
    });

    it('reads from and to as the instants they name, whatever their precision, and refuses to before from', async () => {
      expect((await view(op(AGENCIES.cpi))).status).toBe(200);
      const items = (await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${caseId}`, { as: dpo(AGENCIES.cpi) })).body.items as Array<{ id: string; at: string }>;
      // A case id in capitals is the same case, as on the case routes.
      expect((await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${caseId.toUpperCase()}`, { as: dpo(AGENCIES.cpi) })).body.items).toEqual(items);
      const at = items[0]!.at;
      expect(at).toMatch(/\.\d{3}Z$/);
      const second = at.slice(0, 19);
      const ids = async (query: string) => {
        const answer = await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${caseId}${query}`, { as: dpo(AGENCIES.cpi) });
        expect(answer.status).toBe(200);
        return (answer.body.items as Array<{ id: string }>).map((r) => r.id);
      };
      // The record is within its second: from the second's start it is in, before it (to, exclusive) it is not.
      expect(await ids(`&from=${second}Z`)).toContain(items[0]!.id);
      expect(await ids(`&to=${second}Z`)).not.toContain(items[0]!.id);
      // From its own instant, written with more digits, it is in; up to it, it is not.
      expect(await ids(`&from=${at.replace('Z', '000Z')}`)).toContain(items[0]!.id);
      expect(await ids(`&to=${at.replace('Z', '000Z')}`)).not.toContain(items[0]!.id);
      // A microsecond after it, it is out of from and within to.
      expect(await ids(`&from=${at.replace('Z', '001Z')}`)).not.toContain(items[0]!.id);
      expect(await ids(`&to=${at.replace('Z', '001Z')}`)).toContain(items[0]!.id);
      const inverted = await service.request('GET', `/v1/access-trail?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { as: dpo(AGENCIES.cpi) });
      expect(inverted.status).toBe(400);
      expect(inverted.body.issues).toEqual([{ path: 'query.to', message: 'must not be before from' }]);
    });

    it("refuses a trail cursor anywhere but where it was given: another scope, another agency's DPO, another person", async () => {
      const first = await service.request('GET', '/v1/access-trail?scope=by-us&limit=1', { as: dpo(AGENCIES.cpi) });
      const cursor = first.body.nextCursor as string;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect((await service.request('GET', `/v1/access-trail?scope=by-us&limit=1&cursor=${cursor}`, { as: dpo(AGENCIES.cpi) })).status).toBe(200);
      for (const [path, as] of [
        [`/v1/access-trail?scope=of-our-data&cursor=${cursor}`, dpo(AGENCIES.cpi)],
        [`/v1/access-trail?scope=by-us&cursor=${cursor}`, dpo(AGENCIES.sds)],
        [`/v1/access-trail/subjects/${PERSON.fiscalCode}?cursor=${cursor}`, dpo(AGENCIES.cpi)],
      ] as const) {
        const refused = await service.request('GET', path, { as });
        expect(refused.status).toBe(400);
        expect(refused.body.issues).toEqual([{ path: 'query.cursor', message: 'is not a cursor this service gave' }]);
      }
    });

    it('records a forbidden attempt on a case', async () => {
      const refused = await service.request('GET', `/v1/cases/${caseId}`, { as: { agency: AGENCIES.cpi, roles: ['dpo'] } });
      expect(refused.status).toBe(403);
      const trail = await service.request('GET', `/v1/access-trail?caseId=${caseId}`, { as: dpo(AGENCIES.cpi) });
      expect(trail.body.items[0]).toMatchObject({ outcome: 'forbidden', caseId, roles: ['dpo'] });
      // The same attempt with the id in capitals is an attempt on the same case, and recorded as one.
      const forbidden = () => service.request('GET', `/v1/access-trail?caseId=${caseId}`, { as: dpo(AGENCIES.cpi) });
      const before = (await forbidden()).body.items.filter((item: { outcome: string }) => item.outcome === 'forbidden').length;
      expect((await service.request('GET', `/v1/cases/${caseId.toUpperCase()}`, { as: { agency: AGENCIES.cpi, roles: ['dpo'] } })).status).toBe(403);
      const after = (await forbidden()).body.items.filter((item: { outcome: string }) => item.outcome === 'forbidden');
      expect(after).toHaveLength(before + 1);
      expect(after[0]).toMatchObject({ outcome: 'forbidden', caseId });
    });

    it('neutralises in the CSV every cell a spreadsheet would read as a formula', async () => {
      await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi), headers: { 'x-purpose': '-2-1:cmd' } });
      const csv = String((await service.request('GET', '/v1/access-trail?limit=1', { as: dpo(AGENCIES.cpi), headers: { accept: 'text/csv' } })).body);
      expect(csv).toContain(`,"'-2-1:cmd",`);
      expect(csv).not.toMatch(/,-2-1:cmd,/);
    });

    it('gives the DPO a CSV and a per-person report, and no case content', async () => {
      const csv = await service.request('GET', '/v1/access-trail?limit=5', { as: dpo(AGENCIES.cpi), headers: { accept: 'text/csv' } });
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = String(csv.body).trim().split('\r\n');
      expect(lines[0]).toBe('id,at,agency,operator,roles,action,caseId,categories,purpose,basis,outcome,ip');
      expect(lines).toHaveLength(6);
      const person = await service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}`, { as: dpo(AGENCIES.cpi) });
      expect(person.status).toBe(200);
      expect(person.body.items.length).toBeGreaterThan(0);
      const inScope = async (scope: string) =>
        (await service.request('GET', `/v1/access-trail?scope=${scope}&limit=500`, { as: dpo(AGENCIES.cpi) })).body.items.map((r: { id: string }) => r.id);
      const scopeIds = new Set([...(await inScope('by-us')), ...(await inScope('of-our-data'))]);
      // A page holding the last record says so: nextCursor null, no empty page after it.
      const byUs = (await inScope('by-us')).length;
      const exact = await service.request('GET', `/v1/access-trail?scope=by-us&limit=${byUs}`, { as: dpo(AGENCIES.cpi) });
      expect({ items: exact.body.items.length, nextCursor: exact.body.nextCursor }).toEqual({ items: byUs, nextCursor: null });
      const short = await service.request('GET', `/v1/access-trail?scope=by-us&limit=${byUs - 1}`, { as: dpo(AGENCIES.cpi) });
      expect(short.body.nextCursor).toEqual(expect.any(String));
      expect(person.body.items.every((r: { id: string }) => scopeIds.has(r.id))).toBe(true);
      expect(person.body.items.some((r: { agency: string }) => r.agency === AGENCIES.cpi)).toBe(true);
      const unknownPerson = await service.request('GET', '/v1/access-trail/subjects/MRTMTT25D09F205Z', { as: dpo(AGENCIES.cpi) });
      expect(unknownPerson.body).toEqual({ items: [], nextCursor: null });
      // Each lookup is on the DPO's own trail (the case it named, or none), and never in the report it asked for.
      const lookups = (await service.request('GET', '/v1/access-trail?scope=by-us&limit=500', { as: dpo(AGENCIES.cpi) })).body.items.filter(
        (r: { action: string }) => r.action === 'dpo.subject',
      );
      const [unknown, ...named] = lookups as Array<{ caseId: string; outcome: string; roles: string[] }>;
      expect(unknown).toMatchObject({ caseId: '*', outcome: 'not-found', roles: ['dpo'] });
      expect(named.map((r) => r.caseId)).toContain(caseId);
      expect(named.every((r) => r.outcome === 'disclosed' && r.roles.join() === 'dpo')).toBe(true);
      const again = await service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}?limit=500`, { as: dpo(AGENCIES.cpi) });
      expect(again.body.items.some((r: { action: string }) => r.action === 'dpo.subject')).toBe(false);
      // The per-person report pages, newest first, without losing or repeating a record.
      const paged: Array<{ id: string }> = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await service.request(
          'GET',
          `/v1/access-trail/subjects/${PERSON.fiscalCode}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { as: dpo(AGENCIES.cpi) },
        );
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        paged.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      const whole = await service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}?limit=500`, { as: dpo(AGENCIES.cpi) });
      expect(paged.map((r) => r.id)).toEqual(whole.body.items.map((r: { id: string }) => r.id));
      expect(paged.length).toBeGreaterThan(2);
      expect(JSON.stringify(person.body)).not.toContain(PERSON.familyName);
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: dpo(AGENCIES.cpi) })).status).toBe(403);
      expect((await service.request('GET', `/v1/access-trail`, { as: op(AGENCIES.cpi) })).status).toBe(403);
    });

    it('pages the per-person report as API.md "Conventions" says: 50 by default, 500 at most, nextCursor null on the last page', async () => {
      const report = (query = '') => service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}${query}`, { as: dpo(AGENCIES.cpi) });
      // Each read of the case by the CPI is a record of the CPI's, about the person.
      while ((await report('?limit=60')).body.items.length < 60) await view(op(AGENCIES.cpi));
      const first = await report();
      expect(first.body.items).toHaveLength(50);
      expect(first.body.nextCursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
      const whole = await report('?limit=500');
      expect(whole.status).toBe(200);
      expect(whole.body.items.slice(0, 50)).toEqual(first.body.items);
      if (whole.body.items.length < 500) expect(whole.body.nextCursor).toBeNull();
      const tooMany = await report('?limit=501');
      expect({ status: tooMany.status, paths: tooMany.body.issues?.map((i: { path: string }) => i.path) }).toEqual({ status: 400, paths: ['query.limit'] });
      // In CSV, the next page's cursor is in x-next-cursor, absent on the last page.
      const csv = (query: string) => service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}${query}`, { as: dpo(AGENCIES.cpi), headers: { accept: 'text/csv' } });
      const csvFirst = await csv('?limit=2');
      expect(String(csvFirst.body).trim().split('\r\n')).toHaveLength(3);
      const next = csvFirst.headers.get('x-next-cursor');
      expect(next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
      expect((await report(`?limit=1&cursor=${next}`)).body.items[0].id).toBe(whole.body.items[2].id);
      expect((await csv('?limit=500')).headers.get('x-next-cursor')).toBeNull();
    });
  });

  describe('the activity report', () => {
    const month = new Date().toISOString().slice(0, 7);
    // A month on: this month, when the cases were opened, has ended and is counted.
    beforeAll(() => {
      ahead = 32 * 24 * 60 * 60_000;
    });
    afterAll(() => {
      ahead = 0;
    });

    it('counts for coordinators and coordination bodies, suppressing counts of 1 to 4', async () => {
      const report = await service.request('GET', '/v1/reports/activity', { as: { agency: AGENCIES.coordination, roles: ['operator'] } });
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({ cases: '<5', byStatus: { 'in-charge': '<5', referred: '<5' }, byNeed: { addiction: '<5' } });
      expect((await service.request('GET', '/v1/reports/activity', { as: coordinator(AGENCIES.sds) })).status).toBe(200);
      expect((await service.request('GET', '/v1/reports/activity', { as: op(AGENCIES.cpi) })).status).toBe(403);
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.coordination) })).status).toBe(404);
    });

    it("counts for a coordinator only what its own agency is shown: the CPI's coordinator counts no health need", async () => {
      const cpi = await service.request('GET', '/v1/reports/activity', { as: coordinator(AGENCIES.cpi) });
      expect(cpi.status).toBe(200);
      expect(cpi.body.byNeed).not.toHaveProperty('addiction');
      expect(cpi.body.byNeed).toHaveProperty('employment');
    });

    it('takes whole calendar months only, and only months that have ended', async () => {
      const report = await service.request('GET', `/v1/reports/activity?from=${month}&to=${month}`, { as: coordinator(AGENCIES.sds) });
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({ from: month, to: month });
      // Without a range, up to the last month that has ended.
      expect((await service.request('GET', '/v1/reports/activity', { as: coordinator(AGENCIES.sds) })).body).toMatchObject({ to: month });
      // The month under way is refused, not counted: each case opened would change its figures,
      // and two reports minutes apart would single out a referral by their difference.
      ahead = 0;
      for (const query of [`from=${month}`, `to=${month}`, `from=${month}&to=${month}`]) {
        const under = await service.request('GET', `/v1/reports/activity?${query}`, { as: coordinator(AGENCIES.sds) });
        expect(under.status).toBe(400);
        expect(under.body.issues.map((i: { path: string }) => i.path)).toEqual(query.split('&').map((q) => `query.${q.split('=')[0]}`));
      }
      const none = await service.request('GET', '/v1/reports/activity', { as: coordinator(AGENCIES.sds) });
      expect(none.body).toMatchObject({ cases: 0, byNeed: {} });
      expect(none.body.to < month).toBe(true);
      ahead = 32 * 24 * 60 * 60_000;
      const byDay = await service.request('GET', '/v1/reports/activity?from=2025-06-01&to=2025-06-02', { as: coordinator(AGENCIES.sds) });
      expect(byDay.status).toBe(400);
      expect(byDay.body.issues.map((i: { path: string }) => i.path)).toEqual(['query.from', 'query.to']);
    });
  });
});
