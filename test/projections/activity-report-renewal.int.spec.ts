import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { Caller } from '../../src/access/caller';
import { recordConsent } from '../../src/case/record-consent';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { readModelCrypto } from '../../src/keys/open-keys';
import { GetActivityReport, GetActivityReportHandler } from '../../src/reads/activity-report';
import { ReadBarrier } from '../../src/reads/read-barrier';
import { createCodec } from '../../src/store/codec';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, PROTOCOL_TERMS, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';
import { VIEW_MODES } from '../support/view-modes';

/*
 * ENTITLEMENTS.md: a renewal that narrows what a party receives is in force at once, and
 * "Nothing leaks through the side", aggregates included. A renewal marks every case of its zone
 * to be computed again and the runner works through them in turns (renewal.int.spec.ts); the
 * activity report asked meanwhile must be the one the agency gets from a ledger in which the
 * data it may no longer see was never recorded.
 *
 * UFSMA (mental health) is first in the minimal team and receives health data with the person's
 * consent; the renewal takes both away. It then sees no need of any case, and only the cases
 * where it recorded a note of its own exist for it.
 */

const CASES = 40;

/** The zone's first protocol: UFSMA in every case's team. The renewal below narrows it (no approval needed). */
const FIRST = { ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.mentalHealth ? { ...p, minimalEquipe: true } : p)) };
const NARROWED = {
  ...PROTOCOL_TERMS,
  parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.mentalHealth ? { ...p, minimalEquipe: false, receivable: ['common' as const] } : p)),
};

interface Zone {
  readonly store: SqliteEventStore;
  readonly models: ReadModels;
  readonly runner: ProjectionRunner;
  readonly seed: Seeder;
  /** UFSMA's coordinator's activity report, through the query handler and its read barrier. */
  report(): Promise<unknown>;
}

/** `health`: whether the ledger holds the data UFSMA will no longer see (a need, a note, a grant to it). */
async function zone(dir: string, readsLedger: boolean, health: boolean): Promise<Zone> {
  const keys = testKeys();
  const store = new SqliteEventStore(join(dir, `ledger-${health}.db`), { pollIntervalMs: 10, codec: createCodec(keys) });
  const seed = new Seeder(store);
  await seed.protocol(FIRST);
  for (let i = 0; i < CASES; i++) {
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, {
      person: PERSON,
      needs: health ? ['addiction', 'housing'] : ['housing'],
      notes: health ? [{ category: 'health', text: `methadone ${i}` }] : [],
    });
    await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'housing' }, caseId);
    if (health) {
      const grants = [{ agency: AGENCIES.mentalHealth, categories: ['health' as const] }];
      await seed.run(AGENCIES.sds, recordConsent, { grants, legalBasis: 'explicit-consent', informativaVersion: 'v1', collectedAt: '2025-06-01T00:00:00Z' }, caseId);
    }
    if (i % 2 === 0) await seed.run(AGENCIES.mentalHealth, recordNotes, { notes: [{ category: 'common', text: `colloquio ${i}` }] }, caseId);
  }
  const models = ReadModels.open(join(dir, `views-${health}.db`), readModelCrypto(keys), undefined, readsLedger ? ledgerReaderOf(store) : undefined);
  // One case per transaction: the renewed zone takes many turns to compute again.
  const runner = new ProjectionRunner(store, models, { casesPerTransaction: 1 });
  await runner.runUntilCaughtUp();
  runner.start();
  // The report counts months that have ended: asked a month on, so that it counts this month's cases.
  const handler = new GetActivityReportHandler(seed.protocols, new ReadBarrier(store, runner, true), { now: () => new Date(Date.now() + 32 * 24 * 60 * 60_000) });
  const coordinator = Caller.mint({ zone: ZONE, agency: AGENCIES.mentalHealth, operator: 'op-ufsma', roles: ['operator', 'coordinator'] }, models);
  return { store, models, runner, seed, report: () => handler.execute(new GetActivityReport(coordinator, {})) };
}

async function allComputed(models: ReadModels): Promise<void> {
  for (let i = 0; i < 500 && models.ledger.dirtyCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(models.ledger.dirtyCount()).toBe(0);
}

describe.each(VIEW_MODES)("a coordinator's activity report across a narrowing renewal, the views %s", (_mode, readsLedger) => {
  let dir: string;
  let recorded: Zone;
  let neverRecorded: Zone;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-report-renewal-'));
    recorded = await zone(dir, readsLedger, true);
    neverRecorded = await zone(dir, readsLedger, false);
  });
  afterAll(async () => {
    for (const z of [recorded, neverRecorded]) {
      await z?.runner.stop();
      z?.models.close();
      await z?.store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the health data before the renewal', async () => {
    expect(await recorded.report()).toMatchObject({ cases: CASES, byNeed: { addiction: CASES, housing: CASES } });
  });

  it('is, right after the renewal and before the zone is computed again, the report of a ledger without the data it no longer may see', async () => {
    expect(await neverRecorded.runner.waitFor((await neverRecorded.seed.protocol(NARROWED)).position, 5_000)).toBe(true);
    await allComputed(neverRecorded.models);
    const expected = await neverRecorded.report();
    expect(expected).toMatchObject({ cases: CASES / 2, byNeed: {} });
    expect(await recorded.runner.waitFor((await recorded.seed.protocol(NARROWED)).position, 5_000)).toBe(true);
    // The read barrier is passed while most of the zone still waits to be computed again...
    expect(recorded.models.ledger.dirtyCount()).toBeGreaterThan(CASES / 2);
    const report = await recorded.report();
    expect(recorded.models.ledger.dirtyCount()).toBeGreaterThan(CASES / 2);
    // ...and the report counts neither the addiction need nor the cases that no longer exist for UFSMA.
    expect(report).toEqual(expected);
  });

  it('is the same once the runner has computed the zone again', async () => {
    await allComputed(recorded.models);
    expect(await recorded.report()).toEqual(await neverRecorded.report());
  });
});
