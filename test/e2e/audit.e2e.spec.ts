import type { Role } from '../../src/access/actor';
import { type AuditorKey, type SignedCheckpoint, verifyCheckpoint, verifyCheckpointConsistency, verifyEventInclusion } from '../../src/audit/auditor';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

type As = { agency: string; roles: Role[] };
const op = (agency: string): As => ({ agency, roles: ['operator'] });
const coordinator = (agency: string): As => ({ agency, roles: ['coordinator'] });
const auditor: As = { agency: AGENCIES.coordination, roles: ['auditor'] };
const READERS = [AGENCIES.sds, AGENCIES.cpi, AGENCIES.serd, AGENCIES.mentalHealth, AGENCIES.uepe] as const;

/** A clock the test moves: each step of the story happens a minute after the last. */
class StepClock {
  private t = Date.parse('2025-06-02T09:00:00.000Z');
  now = () => new Date(this.t);
  step(ms = 60_000): string {
    this.t += ms;
    return new Date(this.t).toISOString();
  }
}

describe('auditors over HTTP', () => {
  const clock = new StepClock();
  let service: TestService;
  let caseId: string;
  /** What each agency was shown after each step, and when. */
  const shown: Array<{ at: string; views: Record<string, { status: number; body: unknown }> }> = [];

  async function post(path: string, as: As, body: unknown) {
    const response = await service.request('POST', path, { as, body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }
  /** Moves the clock, runs a step, and keeps what every agency is shown right after it. */
  async function step(run: () => Promise<unknown>) {
    const at = clock.step();
    await run();
    const views: Record<string, { status: number; body: unknown }> = {};
    for (const agency of READERS) {
      const response = await service.request('GET', `/v1/cases/${caseId}`, { as: op(agency) });
      views[agency] = { status: response.status, body: response.status === 200 ? response.body : undefined };
    }
    shown.push({ at, views });
  }
  const audit = (path: string, as: As = auditor) => service.request('GET', `/v1/audit${path}`, { as });
  /** Every page of a list, following nextCursor from `first`. */
  async function pages(first: string): Promise<Array<{ items: unknown[]; nextCursor: string | null }>> {
    const all = [];
    let page = await audit(first);
    for (;;) {
      expect(page.status).toBe(200);
      all.push(page.body);
      if (page.body.nextCursor === null) return all;
      page = await audit(`${first}${first.includes('?') ? '&' : '?'}cursor=${page.body.nextCursor}`);
    }
  }
  const allEvents = async () => (await pages('/events?limit=500')).flatMap((p) => p.items);

  beforeAll(async () => {
    service = await startService({ clock });
    await signProtocol(service);
    clock.step();
    ({ caseId } = await post('/v1/referrals', op(AGENCIES.serd), {
      person: PERSON,
      needs: ['employment', 'addiction'],
      notes: [{ category: 'health', text: 'methadone programme, stable' }],
    }));
    shown.push({ at: clock.now().toISOString(), views: {} });
    let consentId = '';
    await step(() =>
      post(`/v1/cases/${caseId}/taking-in-charge`, coordinator(AGENCIES.sds), { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }),
    );
    await step(async () => {
      ({ consentId } = await post(`/v1/cases/${caseId}/consents`, op(AGENCIES.sds), {
        grants: [
          { agency: AGENCIES.mentalHealth, categories: ['health'] },
          { agency: AGENCIES.sds, categories: ['health'] },
        ],
        legalBasis: 'explicit-consent',
        informativaVersion: 'SILL-2025-01',
        collectedAt: '2025-06-01T09:00:00Z',
      }));
    });
    await step(() => post(`/v1/cases/${caseId}/members`, coordinator(AGENCIES.sds), { agency: AGENCIES.mentalHealth, tier: 'extended' }));
    await step(() => post(`/v1/cases/${caseId}/notes`, op(AGENCIES.cpi), { notes: [{ category: 'common', text: 'CV updated' }] }));
    await step(() => post(`/v1/cases/${caseId}/consents/${consentId}/withdrawal`, op(AGENCIES.sds), {}));
    shown.shift();
  });
  afterAll(async () => service?.stop());

  it('gives, as of each step, exactly the view each agency was shown at the time', async () => {
    expect(shown.length).toBe(5);
    for (const { at, views } of shown) {
      for (const agency of READERS) {
        const asOf = await audit(`/cases/${caseId}/view?agency=${agency}&asOf=${encodeURIComponent(at)}`);
        expect({ at, agency, status: asOf.status, body: asOf.status === 200 ? asOf.body : undefined }).toEqual({ at, agency, ...views[agency] });
      }
    }
    // The mental health service saw the health note while the authorisation stood, and not after.
    expect(JSON.stringify(shown[3]!.views[AGENCIES.mentalHealth])).toContain('methadone');
    expect(JSON.stringify(shown[4]!.views[AGENCIES.mentalHealth])).not.toContain('methadone');
  });

  it('reads an instant given without milliseconds as the instant it is', async () => {
    const whole = clock.step();
    clock.step(500);
    await post(`/v1/cases/${caseId}/notes`, op(AGENCIES.cpi), { notes: [{ category: 'common', text: 'half a second later' }] });
    const at = (asOf: string) => audit(`/cases/${caseId}/view?agency=${AGENCIES.cpi}&asOf=${encodeURIComponent(asOf)}`);
    const before = await at(whole.replace('.000Z', 'Z'));
    expect(before.status).toBe(200);
    expect(JSON.stringify(before.body)).not.toContain('half a second later');
    expect(JSON.stringify((await at(new Date(Date.parse(whole) + 500).toISOString().replace(/\.500Z$/, '.5Z'))).body)).toContain('half a second later');
  });

  it('answers 404 for a case before it existed, and for an unknown one', async () => {
    expect((await audit(`/cases/${caseId}/view?agency=${AGENCIES.serd}&asOf=2025-06-02T09:00:30.000Z`)).status).toBe(404);
    expect((await audit(`/cases/00000000-0000-4000-8000-000000000000/view?agency=${AGENCIES.serd}&asOf=2030-01-01T00:00:00Z`)).status).toBe(404);
  });

  it('lists the zone ledger without personal data, each leaf hash chained to the one before', async () => {
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    do {
      const page = await audit(`/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(7);
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(items.length).toBeGreaterThan(10);
    expect(items.map((i) => i.leafIdx)).toEqual(items.map((_, i) => i));
    items.forEach((item, i) => expect(item.prevHash).toBe(i === 0 ? null : items[i - 1]!.hash));
    const referral = items.find((i) => i.type === 'ReferralSubmitted')!;
    expect(referral).toMatchObject({ agency: AGENCIES.serd, stream: `case-valdinievole.${caseId}` });
    expect(referral.categories).toEqual(expect.arrayContaining(['common', 'health']));
    const text = JSON.stringify(items);
    for (const personal of [PERSON.fiscalCode, PERSON.familyName, PERSON.givenName, 'methadone', 'CV updated']) expect(text).not.toContain(personal);
  });

  it('signs checkpoints that an auditor checks with the public key alone, and proves events and growth against them', async () => {
    const { body: keyList } = await audit('/keys');
    expect(keyList.keys).toEqual([{ keyId: expect.stringMatching(/^[0-9a-f]{16}$/), alg: 'Ed25519', publicKey: expect.any(String), createdAt: expect.any(String), active: true }]);
    const keys: AuditorKey[] = keyList.keys;
    expect(Buffer.from(keys[0]!.publicKey, 'base64')).toHaveLength(32);

    // A checkpoint is asked for with no body, or an empty one: anything else is refused and signs nothing.
    const refused = await service.request('POST', '/v1/audit/checkpoints', { as: auditor, body: { size: 1 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('validation');
    expect((await audit('/checkpoints')).body.items).toEqual([]);
    expect((await service.request('POST', '/v1/audit/checkpoints', { as: auditor, body: {} })).status).toBe(201);
    const signed = await service.request('POST', '/v1/audit/checkpoints', { as: auditor });
    expect(signed.status).toBe(201);
    const first: SignedCheckpoint = signed.body;
    expect(verifyCheckpoint(first, keys)).toEqual({ ok: true });
    expect(verifyCheckpoint({ ...first, size: first.size + 1 }, keys).ok).toBe(false);

    // The events the checkpoint covers (reads recorded since are on the trail, after it).
    const events = ((await allEvents()) as Array<{ position: number; hash: string; leafIdx: number }>).filter((e) => e.leafIdx < first.size);
    for (const event of [events[0]!, events[5]!, events[events.length - 1]!]) {
      const proof = await audit(`/proofs/inclusion?position=${event.position}&treeSize=${first.size}`);
      expect(proof.status).toBe(200);
      expect(verifyEventInclusion({ checkpoint: first, keys, proof: proof.body, leafHash: event.hash })).toEqual({ ok: true });
      const bent = { ...proof.body, proof: proof.body.proof.map((p: string, i: number) => (i === 0 ? Buffer.alloc(32, 1).toString('base64') : p)) };
      if (proof.body.proof.length > 0) expect(verifyEventInclusion({ checkpoint: first, keys, proof: bent, leafHash: event.hash }).ok).toBe(false);
    }

    await post(`/v1/cases/${caseId}/notes`, op(AGENCIES.cpi), { notes: [{ category: 'common', text: 'interview booked' }] });
    const second: SignedCheckpoint = (await service.request('POST', '/v1/audit/checkpoints', { as: auditor })).body;
    expect(second.size).toBeGreaterThan(first.size);
    const consistency = await audit(`/proofs/consistency?from=${first.size}&to=${second.size}`);
    expect(consistency.status).toBe(200);
    expect(verifyCheckpointConsistency({ older: first, newer: second, keys, proof: consistency.body })).toEqual({ ok: true });
    expect(verifyCheckpointConsistency({ older: { ...first, root: second.root }, newer: second, keys, proof: consistency.body }).ok).toBe(false);

    const listed = await audit(`/checkpoints?after=${first.size - 1}`);
    expect(listed.body.items.map((c: SignedCheckpoint) => c.size)).toEqual(expect.arrayContaining([first.size, second.size]));
    expect((await audit(`/checkpoints?after=${second.size}`)).body.items).toEqual([]);
  });

  it('signs nothing again for a repeat with the same Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'checkpoint-2025-06-30' };
    const first = await service.request('POST', '/v1/audit/checkpoints', { as: auditor, headers });
    expect(first.status).toBe(201);
    const count = async () => (await service.request('GET', '/v1/audit/checkpoints', { as: auditor })).body.items.length;
    const before = await count();
    const trailed = async () =>
      ((await service.request('GET', '/v1/access-trail?limit=500', { as: { agency: auditor.agency, roles: ['dpo'] } })).body.items as Array<{ action: string }>).filter(
        (r) => r.action === 'audit.checkpoint',
      ).length;
    const recorded = await trailed();
    const again = await service.request('POST', '/v1/audit/checkpoints', { as: auditor, headers });
    expect({ status: again.status, body: again.body, replayed: again.headers.get('idempotent-replayed') }).toEqual({ status: 201, body: first.body, replayed: 'true' });
    expect(await count()).toBe(before);
    // The repeat signs nothing, but it is an auditor's read all the same: on the trail, as the first was.
    expect(await trailed()).toBe(recorded + 1);
    // The answer lost (a crash between the signature and the answer kept): the repeat finds the checkpoint signed for its key.
    const idempotency = service.ledger.parts.idempotency;
    const complete = idempotency.complete.bind(idempotency);
    idempotency.complete = () => {
      throw new Error('disk I/O error');
    };
    const lost = { 'idempotency-key': 'checkpoint-answer-lost' };
    let signed;
    try {
      signed = await service.request('POST', '/v1/audit/checkpoints', { as: auditor, headers: lost });
    } finally {
      idempotency.complete = complete;
    }
    expect(signed.status).toBe(201);
    const afterLost = await count();
    const repeat = await service.request('POST', '/v1/audit/checkpoints', { as: auditor, headers: lost });
    expect({ status: repeat.status, body: repeat.body }).toEqual({ status: 201, body: signed.body });
    expect(await count()).toBe(afterLost);
  });

  it('pages the ledger as API.md "Conventions" says: 50 by default, 500 at most, nextCursor null on the last page', async () => {
    while ((await audit('/events?limit=60')).body.items.length < 60) await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.sds) });
    const first = await audit('/events');
    expect(first.body.items).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
    const next = await audit(`/events?cursor=${first.body.nextCursor}&limit=1`);
    expect(next.body.items[0].position).toBeGreaterThan(first.body.items[49].position);
    // `after` (API.md "Auditor") still starts the list after a ledger position.
    const after = await audit(`/events?after=${first.body.items[9].position}&limit=3`);
    expect(after.body.items).toEqual(first.body.items.slice(10, 13));
    expect((await audit('/events?limit=500')).status).toBe(200);
    const tooMany = await audit('/events?limit=501');
    expect({ status: tooMany.status, paths: tooMany.body.issues?.map((i: { path: string }) => i.path) }).toEqual({ status: 400, paths: ['query.limit'] });
    expect((await audit(`/events?after=3&cursor=${first.body.nextCursor}`)).status).toBe(400);
    expect((await audit('/events?cursor=not-a-cursor')).status).toBe(400);
    // Each read of the ledger adds its own trail record to it: the last page is the one that reached the end then.
    const all = await pages('/events?limit=500');
    expect(all[all.length - 1]!.items.length).toBeLessThanOrEqual(500);
    expect(all.slice(0, -1).every((p) => p.items.length === 500)).toBe(true);
  });

  it('pages the checkpoints with a cursor that continues where the page ended, even past checkpoints of one size', async () => {
    // Three signed in process, with nothing appended between them (over HTTP each is followed by
    // its trail record), are of one size: the cursor must carry on inside such a group.
    for (let i = 0; i < 3; i++) await service.ledger.parts.audit.checkpoint(ZONE);
    for (let i = 0; i < 4; i++) expect((await service.request('POST', '/v1/audit/checkpoints', { as: auditor })).status).toBe(201);
    const whole = await audit('/checkpoints?limit=500');
    expect(whole.body.nextCursor).toBeNull();
    const checkpoints = whole.body.items as SignedCheckpoint[];
    expect(checkpoints.length).toBeGreaterThanOrEqual(7);
    const sizes = checkpoints.map((c) => c.size);
    expect(sizes.length - new Set(sizes).size).toBeGreaterThanOrEqual(2);
    expect((await audit('/checkpoints')).body).toEqual(whole.body);
    for (const limit of [1, 2, 3]) {
      const paged = await pages(`/checkpoints?limit=${limit}`);
      expect(paged.flatMap((p) => p.items)).toEqual(checkpoints);
      expect(paged.every((p) => p.items.length === limit || p === paged[paged.length - 1])).toBe(true);
      // nextCursor is null on the page that holds the last checkpoint, not on an empty page after it.
      expect(paged[paged.length - 1]!.items.length).toBeGreaterThan(0);
    }
    const exact = await audit(`/checkpoints?limit=${checkpoints.length}`);
    expect(exact.body.nextCursor).toBeNull();
    // `after` still lists the checkpoints of more than that many events.
    const size = checkpoints[2]!.size;
    expect((await audit(`/checkpoints?after=${size}`)).body.items).toEqual(checkpoints.filter((c) => c.size > size));
    expect((await audit('/checkpoints?limit=501')).status).toBe(400);
  });

  it('verifies the whole zone ledger', async () => {
    const report = await audit('/verify');
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ ok: true, checkpointsChecked: expect.any(Number) });
    expect(report.body.eventsChecked).toBeGreaterThan(20);
  });

  it('refuses other roles and bad parameters with the error bodies of API.md', async () => {
    const refused = await audit('/verify', op(AGENCIES.sds));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('forbidden');
    expect((await audit('/proofs/inclusion')).body).toMatchObject({ error: 'validation', issues: [expect.objectContaining({ path: 'query.position' })] });
    expect((await audit('/proofs/inclusion?position=1&treeSize=100000')).status).toBe(400);
    expect((await audit('/proofs/inclusion?position=999999')).status).toBe(404);
    expect((await audit('/proofs/consistency?from=5&to=2')).status).toBe(400);
    expect((await audit('/events?limit=0')).status).toBe(400);
    expect((await audit(`/cases/${caseId}/view?agency=${AGENCIES.sds}`)).status).toBe(400);
    expect((await audit(`/cases/${caseId}/view?agency=${AGENCIES.sds}&asOf=yesterday`)).status).toBe(400);
  });

  it('puts each case a page of events shows on the trail, for the DPOs of the agencies that wrote on it', async () => {
    const page = await audit('/events?limit=500');
    expect(page.status).toBe(200);
    const onCase = (page.body.items as Array<{ stream: string; agency: string }>).filter((e) => e.stream.endsWith(caseId));
    expect(new Set(onCase.map((e) => e.agency))).toEqual(new Set([AGENCIES.serd, AGENCIES.sds, AGENCIES.cpi]));
    const records = async (agency: string, scope: string) =>
      (
        (await service.request('GET', `/v1/access-trail?scope=${scope}&caseId=${caseId}&limit=500`, { as: { agency, roles: ['dpo'] } })).body.items as Array<{
          action: string;
          categories: string[];
        }>
      ).filter((r) => r.action === 'audit.events');
    // SerD wrote on the case (the referral, with its health note): that SerD is on the case, and
    // with health data, is what the page shows of SerD's, and SerD's DPO reads it.
    const bySerd = await records(AGENCIES.serd, 'of-our-data');
    expect(bySerd.length).toBeGreaterThan(0);
    expect(bySerd[0]!.categories).toEqual(['common', 'health']);
    // The CPI wrote a common note: its DPO reads the disclosure of what is the CPI's own.
    expect((await records(AGENCIES.cpi, 'of-our-data'))[0]!.categories).toEqual(['common']);
    // The auditor's agency reads in by-us the case disclosed, beside the zone's record.
    expect((await records(AGENCIES.coordination, 'by-us'))[0]!.categories).toEqual(['common', 'health']);
  });

  it("puts every auditor read on the access trail of the auditor's agency", async () => {
    const trail = await service.request('GET', '/v1/access-trail?limit=500', { as: { agency: AGENCIES.coordination, roles: ['dpo'] } });
    const actions = new Set((trail.body.items as Array<{ action: string; agency: string }>).filter((r) => r.agency === AGENCIES.coordination).map((r) => r.action));
    expect([...actions].sort()).toEqual(['audit.checkpoint', 'audit.checkpoints', 'audit.events', 'audit.keys', 'audit.proof', 'audit.verify', 'case.read-as-of']);
    // The as-of view discloses a case: its owners' DPOs see it in "of-our-data".
    const serdDpo = await service.request('GET', '/v1/access-trail?scope=of-our-data&limit=500', { as: { agency: AGENCIES.serd, roles: ['dpo'] } });
    const asOfBySerd = (serdDpo.body.items as Array<{ action: string; basis: string[] }>).filter((r) => r.action === 'case.read-as-of');
    expect(asOfBySerd.length).toBeGreaterThan(0);
    // The auditor's own DPO reads whose view was replayed, and as of when; an owner, the basis of its own data in it.
    const asOfByUs = (trail.body.items as Array<{ action: string; basis: string[] }>).filter(
      (r) => r.action === 'case.read-as-of' && r.basis.includes(`view-of:${AGENCIES.mentalHealth}`),
    );
    expect(asOfByUs.length).toBeGreaterThan(0);
    expect(asOfByUs[0]!.basis).toEqual(['auditor', `view-of:${AGENCIES.mentalHealth}`, expect.stringMatching(/^as-of:\d{4}-\d{2}-\d{2}T[\d:.]+Z$/)]);
    for (const r of asOfBySerd) expect(r.basis.some((b) => b.startsWith('view-of:') || b.startsWith('as-of:'))).toBe(false);
    // A refused call is recorded too.
    const sdsDpo = await service.request('GET', '/v1/access-trail?limit=500', { as: { agency: AGENCIES.sds, roles: ['dpo'] } });
    expect((sdsDpo.body.items as Array<{ action: string; outcome: string }>).some((r) => r.action === 'audit.verify' && r.outcome === 'forbidden')).toBe(true);
  });
});
