import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStream } from '../../events';
import { type Position, parsePosition } from '../../events/event-store';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { addTeamMember } from '../../src/case/add-team-member';
import { recordConsent } from '../../src/case/record-consent';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { withdrawConsent } from '../../src/case/withdraw-consent';
import { Disclosures } from '../../src/reads/disclosures';
import { Erasures } from '../../src/subjects/erasures';
import type { KeyStore } from '../../src/keys/key-store';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { testKeys } from '../support/keys';
import { AGENCIES, PERSON, PROTOCOL_TERMS, ZONE } from '../support/fixtures';
import { Seeder } from '../support/seed';
import { dumpViews } from '../support/views-dump';
import { VIEW_MODES } from '../support/view-modes';

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

/** A new folder with the ledger above in it, sealed with keys of its own. */
async function seededFolder(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keys = testKeys();
  const store = new SqliteEventStore(join(dir, 'ledger.db'), { pollIntervalMs: 10, codec: createCodec(keys) });
  await seedLedger(store);
  return { dir, keys, store };
}

describe.each(VIEW_MODES)('the projection runner, %s', (_mode, readsLedger) => {
  let dir: string;
  let store: SqliteEventStore;
  let keys: KeyStore;
  beforeEach(async () => {
    ({ dir, keys, store } = await seededFolder('ledger-runner-'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The read models as the mode under test opens them (src/store/open-event-store.ts ledgerReaderOf). */
  function open(file: string) {
    return ReadModels.open(join(dir, file), readModelCrypto(keys), undefined, readsLedger ? ledgerReaderOf(store) : undefined);
  }

  async function rebuild(file: string) {
    const models = open(file);
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    return models;
  }

  it('resumes where it stopped, anywhere: nothing lost, nothing applied twice', async () => {
    const models = open('stop-start.db');
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
    const caseEvents = await store.readAll({ maxCount: 100_000, streamPrefixes: ['case-'] });
    const ledgerCaseEvents = caseEvents.length;
    if (readsLedger) expect(resumed.case_entries).toBeUndefined();
    else expect((resumed.case_entries as unknown[]).length).toBe(ledgerCaseEvents);
    expect(new Set((resumed.case_zones as Array<{ case_id: string }>).map((r) => r.case_id)).size).toBe(new Set(caseEvents.map((e) => e.stream)).size);
    expect((resumed.trail as unknown[]).length).toBe(6);
    models.close();
    fresh.close();
  });

  it('builds from position 0 the same tables as when it followed the ledger live (ledger rebuild)', async () => {
    const live = open('live.db');
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

  it('puts an erasure on the trail of every case of the person, however the events fall into batches', async () => {
    await new Erasures(store, keys, { now: () => new Date() }).erase(PERSON.fiscalCode, {
      actor: { zone: ZONE, agency: AGENCIES.sds, operator: 'dpo' },
      legalBasis: 'gdpr-17-1-a',
      reason: 'request-of-the-person',
      correlationId: 'erasure-test',
    });
    // One event a batch, and the whole ledger in one batch (the cases first seen beside the erasure).
    const byEvent = open('by-event.db');
    await new ProjectionRunner(store, byEvent, { batchSize: 1 }).runUntilCaughtUp();
    const whole = open('whole.db');
    await new ProjectionRunner(store, whole, { batchSize: 100_000 }).runUntilCaughtUp();
    const erasures = (models: ReadModels) => (dumpViews(models).trail as Array<{ action: string; case_id: string }>).filter((r) => r.action === 'subject.erasure');
    expect(erasures(whole)).toHaveLength(30);
    expect(dumpViews(whole)).toEqual(dumpViews(byEvent));
    byEvent.close();
    whole.close();
  });

  it('lets access-trail records alone wait to be applied together, and applies anything else at once', async () => {
    const models = open('delayed.db');
    // A delay no test waits out: only what comes after the records applies them.
    const runner = new ProjectionRunner(store, models, { trailDelayMs: 600_000 });
    await runner.runUntilCaughtUp();
    runner.start();
    try {
      const seed = new Seeder(store);
      const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
      expect(await runner.waitFor(await store.headPosition(), 5_000)).toBe(true);
      const trailBefore = dumpViews(models).trail!.length;
      const read = { caseId, outcome: 'disclosed' as const, disclosure: { categories: ['common' as const], basis: ['full-member' as const], owners: [] } };
      await new Disclosures(store, { now: () => new Date() }).record(seed.actor(AGENCIES.serd), 'case.read', [read], { requestId: 'delayed', purpose: 'case-management' });
      expect(await runner.waitFor(await store.headPosition(), 300)).toBe(false);
      expect(dumpViews(models).trail).toHaveLength(trailBefore);
      const next = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['employment'] });
      expect(await runner.waitFor(next.position, 5_000)).toBe(true);
      expect(dumpViews(models).trail).toHaveLength(trailBefore + 1);
    } finally {
      await runner.stop();
      models.close();
    }
  });

  it('does not spin when its store is closed under it', async () => {
    const models = open('closed-under.db');
    const runner = new ProjectionRunner(store, models, { retryAfterMs: 50 });
    await runner.runUntilCaughtUp();
    const subscribe = store.subscribe.bind(store);
    let calls = 0;
    // A runner asking again at once would never let the timers run: it is stopped after 50 asks.
    jest.spyOn(store, 'subscribe').mockImplementation((options) => {
      if (++calls >= 50) void runner.stop();
      return subscribe(options);
    });
    runner.start();
    await store.close();
    await new Promise((r) => setTimeout(r, 300));
    // Every 50 ms at most.
    expect(calls).toBeLessThan(10);
    await runner.stop();
    models.close();
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

describe('the read models with and without a copy of the ledger', () => {
  let dir: string;
  let store: SqliteEventStore;
  let keys: KeyStore;
  beforeAll(async () => {
    ({ dir, keys, store } = await seededFolder('ledger-runner-modes-'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reader = (stream: string, upTo?: Position) => store.readStreamNow(stream, upTo);

  it('computes the same views reading the ledger as from its copy', async () => {
    const copied = ReadModels.open(join(dir, 'copied.db'), readModelCrypto(keys));
    const read = ReadModels.open(join(dir, 'read.db'), readModelCrypto(keys), undefined, reader);
    await new ProjectionRunner(store, copied, { batchSize: 9, casesPerTransaction: 4 }).runUntilCaughtUp();
    await new ProjectionRunner(store, read, { batchSize: 9, casesPerTransaction: 4 }).runUntilCaughtUp();
    const { case_entries: copy, ...fromCopy } = dumpViews(copied);
    expect(copy!.length).toBeGreaterThan(100);
    expect(dumpViews(read)).toEqual(fromCopy);
    copied.close();
    read.close();
  });

  it('reads a case from the ledger only up to the position asked', async () => {
    const models = ReadModels.open(join(dir, 'bounded.db'), readModelCrypto(keys), undefined, reader);
    const [first] = await store.readAll({ maxCount: 1, streamPrefixes: ['case-'] });
    const { zone, caseId } = parseStream(first!.stream) as { zone: string; caseId: string };
    // Nothing projected into these views yet: a read on demand sees nothing of the ledger.
    expect(models.ledger.caseEntries(zone, caseId)).toEqual([]);
    const all = models.ledger.caseEntries(zone, caseId, await store.headPosition());
    expect(all.length).toBeGreaterThan(2);
    expect(models.ledger.caseEntries(zone, caseId, parsePosition(all[1]!.position)).map((e) => e.revision)).toEqual([0, 1]);
    models.close();
  });

  it('reads on demand only as far as the views reflect the ledger, as the copy did', async () => {
    const models = ReadModels.open(join(dir, 'on-demand.db'), readModelCrypto(keys), undefined, reader);
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    const cpi = models.cases.partition({ zone: ZONE, agency: AGENCIES.cpi });
    const [row] = cpi.list({ limit: 1 });
    const before = cpi.ledgerOf(row!.caseId)!.entries.length;
    // Appended while no runner follows: in the ledger, not yet in the views.
    await new Seeder(store).run(AGENCIES.cpi, recordNotes, { notes: [{ category: 'common', text: 'not yet projected' }] }, row!.caseId);
    expect(cpi.ledgerOf(row!.caseId)!.entries).toHaveLength(before);
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    expect(cpi.ledgerOf(row!.caseId)!.entries).toHaveLength(before + 1);
    models.close();
  });

  it('refuses to compute from a copy that was never kept, and drops one the ledger makes useless', async () => {
    const read = ReadModels.open(join(dir, 'no-copy.db'), readModelCrypto(keys), undefined, reader);
    read.close();
    expect(() => ReadModels.open(join(dir, 'no-copy.db'), readModelCrypto(keys))).toThrow(/reading the embedded ledger itself/);
    const copied = ReadModels.open(join(dir, 'copied-then-read.db'), readModelCrypto(keys));
    await new ProjectionRunner(store, copied).runUntilCaughtUp();
    copied.close();
    const reopened = ReadModels.open(join(dir, 'copied-then-read.db'), readModelCrypto(keys), undefined, reader);
    expect(dumpViews(reopened).case_entries).toBeUndefined();
    reopened.close();
  });
});
