import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { caseStream } from '../../events';
import { fiscalCodeCheckCharacter } from '../../events/fiscal-code';
import { openKeyStore } from '../../src/keys/open-keys';
import { openBytes, sealedParts } from '../../src/store/codec';
import { AGENCIES, PROTOCOL_TERMS, ZONE } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/*
 * Issue 11 "Proofs by test": personal data at rest is sealed per person, and erasure destroys
 * the keys. Every personal datum below is distinctive, so a search of the raw bytes of every
 * file of DATA_DIR (WAL and journal files included) would find it if it were anywhere in clear.
 */

const OTHER_ZONE = 'piana-di-lucca';
const sds = { agency: AGENCIES.sds, roles: ['operator' as const, 'coordinator' as const] };
const admin = { agency: AGENCIES.sds, roles: ['admin' as const] };
const auditor = { agency: AGENCIES.coordination, roles: ['auditor' as const] };
const dpo = { agency: AGENCIES.sds, roles: ['dpo' as const] };

const ANNA = {
  fiscalCode: 'BNCNNA80A41G702Z',
  givenName: 'Annunziata',
  familyName: 'Bencivenga',
  birthDate: '1980-01-01',
  phone: '+39 333 918 2746',
  email: 'annunziata.b@example.org',
  address: 'Via dei Tessitori 17, Pescia',
};
const LUCA = { fiscalCode: 'VRDLCU75M12E715V', givenName: 'Lucaniano', familyName: 'Verdolini', birthDate: '1975-08-12' };

/** Every personal datum the requests below send, as a search would look for it. */
const SECRETS = [
  ANNA.fiscalCode,
  ANNA.givenName,
  ANNA.familyName,
  ANNA.phone,
  ANNA.email,
  ANNA.address,
  LUCA.fiscalCode,
  LUCA.givenName,
  LUCA.familyName,
  'metadone-scalare-quindicinale',
  'colloquio-motivazionale-riservato',
  'tirocinio-presso-vivaio-Zanobini',
  'presentarsi-ogni-lunedi-al-CPI',
  'consenso-per-percorso-riabilitativo',
  'assenza-ingiustificata-al-colloquio',
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('personal data at rest, and erasure', () => {
  let service: TestService;
  let anna: string;
  let annaElsewhere: string;
  let luca: string;

  async function post(path: string, as: { agency: string; roles?: Array<'operator' | 'coordinator'> }, body: unknown, zone?: string) {
    const response = await service.request('POST', path, { as: { ...as, ...(zone ? { zone } : {}) }, body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
    expect((await service.request('PUT', '/v1/protocol', { as: { ...admin, zone: OTHER_ZONE }, body: PROTOCOL_TERMS })).status).toBe(200);
    // A client's Idempotency-Key may hold personal data too.
    const referral = await service.request('POST', '/v1/referrals', {
      as: sds,
      body: { person: ANNA, needs: ['employment', 'addiction'], notes: [{ category: 'health', text: 'metadone-scalare-quindicinale' }] },
      headers: { 'idempotency-key': `referral-${ANNA.fiscalCode}` },
    });
    expect(referral.status).toBe(201);
    anna = referral.body.caseId;
    await post(`/v1/cases/${anna}/consents`, sds, {
      grants: [{ agency: AGENCIES.sds, categories: ['health'] }],
      purposes: ['consenso-per-percorso-riabilitativo'],
      legalBasis: 'explicit-consent',
      informativaVersion: 'v1',
      collectedAt: '2025-06-01T09:00:00Z',
    });
    await post(`/v1/cases/${anna}/taking-in-charge`, sds, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' });
    await post(`/v1/cases/${anna}/plan/revisions`, sds, {
      objectives: [{ id: 'o1', dimension: 'employment', description: 'tirocinio-presso-vivaio-Zanobini', term: 'short' }],
      interventions: [],
      commitments: ['presentarsi-ogni-lunedi-al-CPI'],
    });
    await post(`/v1/cases/${anna}/non-compliance`, { agency: AGENCIES.cpi }, { commitment: 'assenza-ingiustificata-al-colloquio' });
    await post(`/v1/cases/${anna}/notes`, sds, { notes: [{ category: 'common', text: 'colloquio-motivazionale-riservato' }] });
    ({ caseId: annaElsewhere } = await post('/v1/referrals', sds, { person: ANNA, needs: ['housing'] }, OTHER_ZONE));
    ({ caseId: luca } = await post('/v1/referrals', sds, { person: LUCA, needs: ['employment'] }));
    // Every read model is written (the reads wait for the views) and every read is on the trail.
    for (const caseId of [anna, luca]) expect((await service.request('GET', `/v1/cases/${caseId}`, { as: sds })).status).toBe(200);
    expect((await service.request('GET', `/v1/cases/${annaElsewhere}`, { as: { ...sds, zone: OTHER_ZONE } })).status).toBe(200);
    expect((await service.request('GET', `/v1/access-trail/subjects/${ANNA.fiscalCode}`, { as: dpo })).status).toBe(200);
  });
  afterAll(async () => service?.stop());

  it('keeps no personal datum of any request in clear in any file of the data folder, WAL and journals included', () => {
    const files = filesUnder(service.dataDir);
    expect(files.map((f) => relative(service.dataDir, f))).toEqual(expect.arrayContaining(['ledger.db', 'views.db', 'keys/keys.db', 'idempotency.db']));
    const found: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of SECRETS) if (bytes.includes(Buffer.from(secret, 'utf8'))) found.push(`${relative(service.dataDir, file)}: ${secret}`);
    }
    expect(found).toEqual([]);
  });

  it('names a person in its indexes by a keyed pseudonym, never a bare hash of the fiscal code', () => {
    const views = new Database(join(service.dataDir, 'views.db'), { readonly: true });
    try {
      const keys = (views.prepare('SELECT DISTINCT person_key FROM person_cases').all() as Array<{ person_key: string }>).map((r) => r.person_key);
      const bare = createHash('sha256').update(`${ZONE}\u0000${ANNA.fiscalCode}`).digest('hex');
      expect(keys).not.toContain(bare);
      expect(keys).not.toContain(createHash('sha256').update(ANNA.fiscalCode).digest('hex'));
      expect(keys).toHaveLength(2);
    } finally {
      views.close();
    }
  });

  describe('after an erasure', () => {
    let erasedAt: string;
    let wrapped: Buffer;
    beforeAll(async () => {
      // The person's wrapped data key as the key store holds it before the erasure.
      const db = new Database(join(service.dataDir, 'keys', 'keys.db'), { readonly: true });
      wrapped = (db.prepare('SELECT d.wrapped FROM data_keys d JOIN case_keys c ON c.key_id = d.key_id WHERE c.case_id = ?').get(anna) as { wrapped: Buffer }).wrapped;
      db.close();
      // An auditor's signed checkpoint of the ledger before the erasure.
      expect((await service.request('POST', '/v1/audit/checkpoints', { as: auditor })).status).toBe(201);
      const response = await service.request('POST', `/v1/subjects/${ANNA.fiscalCode}/erasure`, {
        as: admin,
        body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' },
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ erased: true, erasedAt: expect.any(String) });
      erasedAt = response.body.erasedAt;
    });

    it("shows the person's cases, in every zone, with an explicit erased marker in place of their data", async () => {
      const view = await service.request('GET', `/v1/cases/${anna}`, { as: sds });
      expect(view.status).toBe(200);
      expect(view.body).toEqual({ caseId: anna, status: 'in-charge', revision: expect.any(Number), openedAt: expect.any(String), updatedAt: expect.any(String), erased: true });
      const elsewhere = await service.request('GET', `/v1/cases/${annaElsewhere}`, { as: { ...sds, zone: OTHER_ZONE } });
      expect(elsewhere.body).toMatchObject({ caseId: annaElsewhere, erased: true });
      expect(elsewhere.body.person).toBeUndefined();
      expect((await service.request('GET', `/v1/cases/${anna}/history`, { as: sds })).body).toEqual({ items: [] });
      const list = await service.request('GET', '/v1/cases', { as: sds });
      expect(list.body.items.find((i: { caseId: string }) => i.caseId === anna).person).toBeUndefined();
    });

    it('rewrites no event: the ledger still verifies against the checkpoint signed before, and the past views read erased', async () => {
      const report = await service.request('GET', '/v1/audit/verify', { as: auditor });
      expect(report.body).toMatchObject({ ok: true, checkpointsChecked: 1 });
      const before = await service.request('GET', `/v1/audit/cases/${anna}/view?agency=${AGENCIES.sds}&asOf=${encodeURIComponent(erasedAt)}`, { as: auditor });
      expect(before.body).toMatchObject({ caseId: anna, erased: true });
      expect(before.body.person).toBeUndefined();
    });

    it("no longer links the person to their cases in the DPO's per-person report; the records stay under the case ids", async () => {
      const report = await service.request('GET', `/v1/access-trail/subjects/${ANNA.fiscalCode}`, { as: dpo });
      expect(report.status).toBe(200);
      expect(report.body.items).toEqual([]);
      const byCase = await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${anna}`, { as: dpo });
      expect(byCase.body.items.length).toBeGreaterThan(0);
      // The index of each person's cases keeps only Luca: no row of Anna's, in either zone.
      const views = new Database(join(service.dataDir, 'views.db'), { readonly: true });
      try {
        expect(views.prepare('SELECT COUNT(DISTINCT person_key) AS n FROM person_cases').get()).toEqual({ n: 1 });
        expect((views.prepare('SELECT case_id FROM person_cases').all() as Array<{ case_id: string }>).map((r) => r.case_id)).toEqual([luca]);
      } finally {
        views.close();
      }
    });

    it("keeps everyone else's data whole and readable", async () => {
      const view = await service.request('GET', `/v1/cases/${luca}`, { as: sds });
      expect(view.body.person).toMatchObject({ givenName: LUCA.givenName });
    });

    it('refuses every further command on an erased case', async () => {
      const response = await service.request('POST', `/v1/cases/${anna}/notes`, { as: sds, body: { notes: [{ category: 'common', text: 'after' }] } });
      expect(response.status).toBe(422);
      expect(response.body.rule).toBe('case-erased');
    });

    it('answers case-erased to a command the case remembered in memory would have refused on its facts', async () => {
      // Anna's case is in charge without an outcome: on its facts, closure would be `closure-needs-outcome`.
      for (const [path, body] of [
        ['closure', { reason: 'objectives-achieved' }],
        ['reopening', {}],
        ['taking-in-charge', { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }],
      ] as const) {
        const response = await service.request('POST', `/v1/cases/${anna}/${path}`, { as: sds, body });
        expect({ path, status: response.status, rule: response.body.rule }).toEqual({ path, status: 422, rule: 'case-erased' });
      }
    });

    it('is idempotent, and answers a person the ledger never knew the same way', async () => {
      const again = await service.request('POST', `/v1/subjects/${ANNA.fiscalCode}/erasure`, { as: admin, body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' } });
      expect(again.body).toEqual({ erased: true, erasedAt });
      const stranger = await service.request('POST', '/v1/subjects/MRTMTT25D09F205Z/erasure', { as: admin, body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' } });
      expect(stranger.status).toBe(201);
      expect(
        (await service.request('POST', `/v1/subjects/${ANNA.fiscalCode}/erasure`, { as: sds, body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' } })).status,
      ).toBe(403);
    });

    it("answers an admin of another zone with that zone's own erasure, never the first zone's time", async () => {
      const body = { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' };
      const elsewhere = await service.request('POST', `/v1/subjects/${ANNA.fiscalCode}/erasure`, { as: { ...admin, zone: OTHER_ZONE }, body });
      expect(elsewhere.status).toBe(201);
      expect(elsewhere.body.erasedAt > erasedAt).toBe(true);
      const again = await service.request('POST', `/v1/subjects/${ANNA.fiscalCode}/erasure`, { as: { ...admin, zone: OTHER_ZONE }, body });
      expect(again.body).toEqual(elsewhere.body);
    });

    it("puts on the erasing agency's trail only the cases that exist for it", async () => {
      const gino = { fiscalCode: 'GNIRSS70C10G702Q', givenName: 'Gino', familyName: 'Rossi', birthDate: '1970-03-10' };
      const serd = { agency: AGENCIES.serd };
      // One case SerD referred, one it has no part in (it answers 404 for it).
      const { caseId: ofSerd } = await post('/v1/referrals', serd, { person: gino, needs: ['addiction'] });
      const { caseId: hidden } = await post('/v1/referrals', sds, { person: gino, needs: ['housing'] });
      expect((await service.request('GET', `/v1/cases/${hidden}`, { as: serd })).status).toBe(404);
      const erased = await service.request('POST', `/v1/subjects/${gino.fiscalCode}/erasure`, {
        as: { agency: AGENCIES.serd, roles: ['admin'] },
        body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' },
      });
      expect(erased.status).toBe(201);
      const trail = await service.request('GET', '/v1/access-trail?scope=by-us&limit=1', { as: { agency: AGENCIES.serd, roles: ['dpo'] } });
      const erasures = [];
      for (let page = trail; ;) {
        erasures.push(...page.body.items.filter((r: { action: string }) => r.action === 'subject.erasure').map((r: { caseId: string }) => r.caseId));
        if (!page.body.nextCursor) break;
        page = await service.request('GET', `/v1/access-trail?scope=by-us&limit=1&cursor=${page.body.nextCursor}`, { as: { agency: AGENCIES.serd, roles: ['dpo'] } });
      }
      expect(erasures).toEqual([ofSerd]);
      // The agency that referred the other case reads the erasure of its data there, by a reader it does not see on the case.
      const ofSds = await service.request('GET', `/v1/access-trail?scope=of-our-data&caseId=${hidden}`, { as: dpo });
      expect(ofSds.body.items.filter((r: { action: string }) => r.action === 'subject.erasure')).toEqual([expect.objectContaining({ caseId: hidden, agency: 'undisclosed' })]);
    });

    it('is an event without personal data, on the access trail', async () => {
      const events = await service.store.readAll({ maxCount: 10_000, streamPrefixes: ['erasure-'] });
      const erasure = events.find((e) => e.type === 'PersonErased')!;
      expect(erasure.data).toEqual({
        subject: expect.stringMatching(/^[0-9a-f]{64}$/),
        cases: expect.arrayContaining([anna, annaElsewhere]),
        legalBasis: 'gdpr-17-1-a',
        reason: 'request-of-the-person',
      });
      expect(Buffer.concat([erasure.raw.data, erasure.raw.metadata]).includes(ANNA.fiscalCode)).toBe(false);
      const trail = await service.request('GET', '/v1/access-trail?scope=by-us', { as: { agency: AGENCIES.sds, roles: ['dpo'] } });
      expect(trail.body.items.filter((r: { action: string }) => r.action === 'subject.erasure').map((r: { caseId: string }) => r.caseId)).toContain(anna);
    });

    it('leaves nothing of the person that can be decrypted, even with every master key', async () => {
      const keys = openKeyStore({ dataDir: service.dataDir });
      try {
        expect(keys.keyOfCase(anna)).toBeUndefined();
        expect(keys.keyOfCase(luca)).toBeDefined();
        // Every data key the key store still holds, tried on every sealed event of the erased cases.
        const db = new Database(join(service.dataDir, 'keys', 'keys.db'), { readonly: true });
        const keyIds = (db.prepare('SELECT key_id FROM data_keys').all() as Array<{ key_id: string }>).map((r) => r.key_id);
        db.close();
        const ledger = new Database(join(service.dataDir, 'ledger.db'), { readonly: true });
        const rows = ledger.prepare('SELECT id, type, data FROM events WHERE stream IN (?, ?)').all(caseStream(ZONE, anna), caseStream(OTHER_ZONE, annaElsewhere)) as Array<{
          id: string;
          type: string;
          data: Buffer;
        }>;
        ledger.close();
        expect(rows.length).toBeGreaterThan(5);
        for (const row of rows) {
          const parts = sealedParts(row.data)!;
          expect(parts).toBeDefined();
          for (const keyId of keyIds) expect(() => openBytes(keys.dataKey(keyId)!, parts.sealed, `${row.id}\u0000${row.type}`)).toThrow();
        }
        // The destroyed key's wrapped bytes are overwritten in the key store's files (secure_delete, WAL truncated), not only unlinked.
        for (const file of filesUnder(join(service.dataDir, 'keys'))) expect({ file, holds: readFileSync(file).includes(wrapped) }).toEqual({ file, holds: false });
      } finally {
        keys.close();
      }
    });
  });

  describe('a person referred again after their erasure', () => {
    const MARA = { fiscalCode: 'MRAGLL82B45D612P', givenName: 'Marabella', familyName: 'Gallorini', birthDate: '1982-02-05' };
    const body = { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' };
    const erasures = async () => (await service.store.readAll({ maxCount: 10_000, streamPrefixes: ['erasure-'] })).filter((e) => e.type === 'PersonErased');

    it('is erased again, the new case with them, by its own event; a true repeat writes nothing', async () => {
      const { caseId: first } = await post('/v1/referrals', sds, { person: MARA, needs: ['employment'] });
      const erased = await service.request('POST', `/v1/subjects/${MARA.fiscalCode}/erasure`, { as: admin, body });
      expect(erased.status).toBe(201);
      const { caseId: second } = await post('/v1/referrals', sds, { person: MARA, needs: ['housing'] });
      expect((await service.request('GET', `/v1/cases/${second}`, { as: sds })).body.person).toMatchObject({ givenName: MARA.givenName });
      const before = (await erasures()).length;

      const again = await service.request('POST', `/v1/subjects/${MARA.fiscalCode}/erasure`, { as: admin, body });
      expect(again.status).toBe(201);
      expect(again.body.erasedAt > erased.body.erasedAt).toBe(true);
      expect(service.ledger.parts.keys.keyOfCase(second)).toBeUndefined();
      const view = await service.request('GET', `/v1/cases/${second}`, { as: sds });
      expect(view.body).toMatchObject({ caseId: second, erased: true });
      expect(view.body.person).toBeUndefined();
      const recorded = await erasures();
      expect(recorded).toHaveLength(before + 1);
      // It names only the new case: the first one's trail gets no second erasure record.
      expect(recorded[recorded.length - 1]!.data).toMatchObject({ cases: [second] });
      expect(recorded.some((e) => (e.data as { cases: string[] }).cases.includes(first))).toBe(true);

      // Nothing new since: the same answer, and nothing written.
      const repeat = await service.request('POST', `/v1/subjects/${MARA.fiscalCode}/erasure`, { as: admin, body });
      expect(repeat.body).toEqual(again.body);
      expect(await erasures()).toHaveLength(before + 1);
    });

    it("answers a repeat with this zone's own erasure when the person was referred again only in another zone, and erases them there", async () => {
      const person = (first15: string, givenName: string) => ({
        fiscalCode: first15 + fiscalCodeCheckCharacter(first15),
        givenName,
        familyName: 'Bertelli',
        birthDate: '1979-04-12',
      });
      const otherAdmin = { ...admin, zone: OTHER_ZONE };
      const erase = async (fiscalCode: string, as: typeof admin) => service.request('POST', `/v1/subjects/${fiscalCode}/erasure`, { as, body });
      const view = async (caseId: string) => (await service.request('GET', `/v1/cases/${caseId}`, { as: { ...sds, zone: OTHER_ZONE } })).body;
      // Referred again in the other zone, then the first zone's admin repeats: the case there goes, the answer is the first.
      const nino = person('BRTNNI79D12D612', 'Nino');
      const { caseId: here } = await post('/v1/referrals', sds, { person: nino, needs: ['employment'] });
      const first = await erase(nino.fiscalCode, admin);
      // The erasure's records on the first zone's trail, as its DPO reads them.
      const trailOfHere = async () =>
        (await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${here}`, { as: { agency: AGENCIES.sds, roles: ['dpo'] } })).body.items.filter(
          (r: { action: string }) => r.action === 'subject.erasure',
        );
      const before = await trailOfHere();
      expect(before).toHaveLength(1);
      const { caseId: there } = await post('/v1/referrals', sds, { person: nino, needs: ['housing'] }, OTHER_ZONE);
      const repeat = await erase(nino.fiscalCode, admin);
      expect(repeat.body).toEqual(first.body);
      // Nor does the first zone's trail change: the repeat's event names the other zone's case only.
      expect((await service.request('GET', `/v1/cases/${here}`, { as: sds })).status).toBe(200);
      expect(await trailOfHere()).toEqual(before);
      expect(service.ledger.parts.keys.keyOfCase(there)).toBeUndefined();
      expect(await view(there)).toMatchObject({ caseId: there, erased: true });
      expect((await erase(nino.fiscalCode, admin)).body).toEqual(first.body);
      // Referred again in the other zone and erased there first: the first zone's repeat answers the same and writes nothing.
      const nella = person('BRTNLL79D52D612', 'Nella');
      await post('/v1/referrals', sds, { person: nella, needs: ['employment'] });
      const nellaFirst = await erase(nella.fiscalCode, admin);
      const { caseId: elsewhere } = await post('/v1/referrals', sds, { person: nella, needs: ['housing'] }, OTHER_ZONE);
      expect((await erase(nella.fiscalCode, otherAdmin)).status).toBe(201);
      expect(await view(elsewhere)).toMatchObject({ caseId: elsewhere, erased: true });
      const written = (await erasures()).length;
      expect((await erase(nella.fiscalCode, admin)).body).toEqual(nellaFirst.body);
      expect(await erasures()).toHaveLength(written);
    });
  });
});
