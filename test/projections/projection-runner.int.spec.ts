import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { addTeamMember } from '../../src/case/add-team-member';
import { recordConsent } from '../../src/case/record-consent';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { withdrawConsent } from '../../src/case/withdraw-consent';
import { Disclosures } from '../../src/reads/disclosures';
import type { KeyStore } from '../../src/keys/key-store';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { testKeys } from '../support/keys';
import { AGENCIES, PERSON, PROTOCOL_TERMS } from '../support/fixtures';
import { Seeder } from '../support/seed';
import { dumpViews } from '../support/views-dump';

/** A ledger of a few dozen cases, consents, withdrawals, notes, a protocol renewal and trail records. */
async function seedLedger(store: SqliteEventStore) {
  const seed = new Seeder(store);
  await seed.protocol();
  for (let i = 0; i < 30; i++) {
    const referrer = [AGENCIES.serd, AGENCIES.sds, AGENCIES.cpi][i % 3]!;
    const { caseId } = await seed.run(referrer, submitReferral, {
      person: PERSON,
      needs: ['employment', i % 2 ? 'addiction' : 'justice'],
      notes: [{ category: 'health', text: `note ${i}` }],
    });
    await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }, caseId);
    // The person authorises SdS and mental health to receive health data: SdS may then add mental health to the team.
    const consent = await seed.run(
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
    if (i % 3 === 0) await seed.run(AGENCIES.sds, addTeamMember, { agency: AGENCIES.mentalHealth, tier: 'extended' }, caseId);
    await seed.run(AGENCIES.cpi, recordNotes, { notes: [{ category: 'common', text: `cpi ${i}` }] }, caseId);
    if (i % 4 === 0) await seed.run(AGENCIES.sds, withdrawConsent, { consentId: (consent.events[0]!.data as { consentId: string }).consentId }, caseId);
    if (i % 5 === 0) {
      await new Disclosures(store, { now: () => new Date() }).record(
        seed.actor(AGENCIES.cpi),
        'case.read',
        [
          {
            caseId,
            outcome: 'disclosed',
            disclosure: { categories: ['common'], basis: ['full-member'], owners: [{ agency: AGENCIES.cpi, categories: ['common'], basis: ['full-member'] }] },
          },
        ],
        { requestId: `r${i}`, purpose: 'case-management' },
      );
    }
    if (i === 20)
      await seed.protocol({ ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.mentalHealth ? { ...p, receivable: ['common' as const] } : p)) });
  }
}

describe('the projection runner', () => {
  let dir: string;
  let store: SqliteEventStore;
  let keys: KeyStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-runner-'));
    keys = testKeys();
    store = new SqliteEventStore(join(dir, 'ledger.db'), { pollIntervalMs: 10, codec: createCodec(keys) });
    await seedLedger(store);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rebuild(file: string) {
    const models = ReadModels.open(join(dir, file), readModelCrypto(keys));
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    return models;
  }

  it('resumes where it stopped, anywhere: nothing lost, nothing applied twice', async () => {
    const models = ReadModels.open(join(dir, 'stop-start.db'), readModelCrypto(keys));
    let stops = 0;
    // Small batches, stopped and restarted (a new runner on the same file) many times midway.
    for (;;) {
      const runner = new ProjectionRunner(store, models, { batchSize: 7, casesPerTransaction: 3 });
      runner.start();
      await new Promise((r) => setTimeout(r, 2 + (stops % 5)));
      await runner.stop();
      stops++;
      if (runner.isReady() && models.ledger.dirtyCount() === 0) break;
    }
    const resumed = dumpViews(models);
    const fresh = await rebuild('fresh.db');
    expect(stops).toBeGreaterThan(1);
    expect(resumed).toEqual(dumpViews(fresh));
    const ledgerCaseEvents = (await store.readAll({ maxCount: 100_000, streamPrefixes: ['case-'] })).length;
    expect((resumed.case_entries as unknown[]).length).toBe(ledgerCaseEvents);
    expect((resumed.trail as unknown[]).length).toBe(6);
    models.close();
    fresh.close();
  });

  it('builds from position 0 the same tables as when it followed the ledger live (ledger rebuild)', async () => {
    const live = ReadModels.open(join(dir, 'live.db'), readModelCrypto(keys));
    const runner = new ProjectionRunner(store, live, { batchSize: 5 });
    runner.start();
    // More events while it follows: a new case and a withdrawal arrive live.
    const seed = new Seeder(store);
    const { caseId, position } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
    await seed.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: 'live' }] }, caseId);
    expect(await runner.waitFor(position, 5_000)).toBe(true);
    await runner.runUntilCaughtUp();
    const rebuilt = await rebuild('rebuilt.db');
    expect(dumpViews(live)).toEqual(dumpViews(rebuilt));
    live.close();
    rebuilt.close();
  });

  it('recomputes every case of a zone when its protocol changes', async () => {
    const models = await rebuild('views.db');
    const mentalHealth = models.cases.partition({ zone: 'valdinievole', agency: AGENCIES.mentalHealth });
    const [row] = mentalHealth.list({ limit: 1 });
    // After the renewal mental health receives only common data: no health note is in any view.
    expect(JSON.stringify(mentalHealth.get(row!.caseId)!.view)).not.toMatch(/"note \d+"/);
    models.close();
  });
});
