import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { addTeamMember } from '../../src/case/add-team-member';
import { recordConsent } from '../../src/case/record-consent';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, PROTOCOL_TERMS, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';
import { VIEW_MODES } from '../support/view-modes';

/*
 * Issue 13.1: a protocol renewal marks every case of its zone to be computed again. Reads must
 * neither wait for the whole zone (a minute at 100k cases, and 503 after 5 s) nor show, meanwhile,
 * anything the new protocol forbids.
 */

const OTHER_ZONE = 'altra-zona';
const CASES = 40;

describe.each(VIEW_MODES)('a protocol renewal, the views %s', (_mode, readsLedger) => {
  let dir: string;
  let store: SqliteEventStore;
  let models: ReadModels;
  let runner: ProjectionRunner;
  let caseIds: string[];
  let elsewhere: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-renewal-'));
    const keys = testKeys();
    store = new SqliteEventStore(join(dir, 'ledger.db'), { pollIntervalMs: 10, codec: createCodec(keys) });
    const seed = new Seeder(store);
    caseIds = [];
    await seed.protocol();
    await seed.protocol(PROTOCOL_TERMS, OTHER_ZONE);
    for (let i = 0; i < CASES; i++) {
      const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'], notes: [{ category: 'health', text: `methadone ${i}` }] });
      await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'addiction' }, caseId);
      await seed.run(
        AGENCIES.sds,
        recordConsent,
        {
          grants: [
            { agency: AGENCIES.mentalHealth, categories: ['health'] },
            { agency: AGENCIES.sds, categories: ['health'] },
          ],
          legalBasis: 'explicit-consent',
          informativaVersion: 'v1',
          collectedAt: '2025-06-01T00:00:00Z',
        },
        caseId,
      );
      await seed.run(AGENCIES.sds, addTeamMember, { agency: AGENCIES.mentalHealth, tier: 'extended' }, caseId);
      caseIds.push(caseId);
    }
    ({ caseId: elsewhere } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] }, undefined, OTHER_ZONE));
    models = ReadModels.open(join(dir, 'views.db'), readModelCrypto(keys), undefined, readsLedger ? ledgerReaderOf(store) : undefined);
    // One case per transaction: the renewed zone takes many turns to compute again.
    runner = new ProjectionRunner(store, models, { casesPerTransaction: 1 });
    await runner.runUntilCaughtUp();
    runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    models?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ufsma = (zone = ZONE) => models.cases.partition({ zone, agency: AGENCIES.mentalHealth });

  it('is read under the new protocol at once, without waiting for the zone to be computed again', async () => {
    expect(JSON.stringify(ufsma().get(caseIds[CASES - 1]!)!.view)).toContain('methadone');
    // Mental health may no longer receive health data in this zone.
    const narrowed = { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.mentalHealth ? { ...p, receivable: ['common' as const] } : p)) };
    const { position } = await new Seeder(store).protocol(narrowed);
    expect(await runner.waitFor(position, 5_000)).toBe(true);
    // The read barrier is passed while most of the zone still waits to be computed again...
    expect(models.ledger.dirtyCount()).toBeGreaterThan(CASES / 2);
    // ...and no read shows what the new protocol forbids: not by id, not in a list, not in a history.
    for (const caseId of caseIds) {
      const row = ufsma().get(caseId);
      expect({ caseId, shown: JSON.stringify(row?.view ?? {}).includes('methadone') }).toEqual({ caseId, shown: false });
      expect(ufsma().ledgerOf(caseId)).toBeDefined();
    }
    const listed = ufsma().list({ limit: 500 });
    expect(listed.map((r) => r.caseId).sort()).toEqual([...caseIds].sort());
    expect(listed.every((r) => !r.disclosure.categories.includes('health'))).toBe(true);
    // Another zone is untouched.
    expect(models.cases.partition({ zone: OTHER_ZONE, agency: AGENCIES.serd }).get(elsewhere)).toBeDefined();
  });

  it('ends with every view computed again, the same as computed on demand', async () => {
    for (let i = 0; i < 200 && models.ledger.dirtyCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(models.ledger.dirtyCount()).toBe(0);
    for (const caseId of caseIds) expect(JSON.stringify(ufsma().get(caseId)!.view)).not.toContain('methadone');
  });
});
