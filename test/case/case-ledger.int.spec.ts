import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseStream } from '../../events';
import { agreePlanRevision } from '../../src/case/agree-plan-revision';
import { draftPlanRevision } from '../../src/case/draft-plan-revision';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { Seeder } from '../support/seed';

/**
 * Two ledgers on one store stand for two service instances (or the CLI and the service): each
 * remembers its folds, and must still decide on the truth.
 */
describe('the case ledger with another writer', () => {
  let dir: string;
  let store: SqliteEventStore;
  let mine: Seeder;
  let theirs: Seeder;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-cases-'));
    store = new SqliteEventStore(join(dir, 'ledger.db'));
    mine = new Seeder(store);
    theirs = new Seeder(store);
    await mine.protocol();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries on a conflict: decides again on the new state, and loses nothing', async () => {
    const { caseId } = await mine.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await mine.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: 'mine 1' }] }, caseId);
    await theirs.run(AGENCIES.cpi, recordNotes, { notes: [{ category: 'common', text: 'theirs' }] }, caseId);
    const result = await mine.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: 'mine 2' }] }, caseId);
    expect(result.revision).toBe(3n);
    const texts = (await store.readStream(caseStream(ZONE, caseId))).slice(1).map((e) => (e.data as { notes: Array<{ text: string }> }).notes[0]!.text);
    expect(texts).toEqual(['mine 1', 'theirs', 'mine 2']);
  });

  it('never refuses on what it only remembers: a plan drafted elsewhere can be agreed here', async () => {
    const { caseId } = await mine.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await mine.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }, caseId);
    await theirs.run(
      AGENCIES.cpi,
      draftPlanRevision,
      { objectives: [{ id: 'o1', dimension: 'employment', description: 'internship', term: 'short' }], interventions: [], commitments: [] },
      caseId,
    );
    const agreed = await mine.run(AGENCIES.cpi, agreePlanRevision, { planRevision: 1, agreedOn: '2025-06-01' }, caseId);
    expect(agreed.events.map((e) => e.type)).toEqual(['PlanRevisionAgreed']);
  });

  it('still refuses what the fresh state refuses', async () => {
    const { caseId } = await mine.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await expect(mine.run(AGENCIES.cpi, agreePlanRevision, { planRevision: 1, agreedOn: '2025-06-01' }, caseId)).rejects.toMatchObject({ rule: 'unknown-plan-revision' });
  });
});
