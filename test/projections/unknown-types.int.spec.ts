import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseStream } from '../../events';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/*
 * Issue 14.6: during a rolling upgrade a newer instance writes an event type this version does
 * not know. The command path and the projections pass over it instead of failing or looping.
 */
describe('an event type this version does not know', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-unknown-type-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['keeping a copy of the ledger', false],
    ['reading the ledger itself', true],
  ])('counts for the revision of the next command and is passed over by the projections, %s', async (_mode, readsLedger) => {
    const keys = testKeys();
    const file = join(dir, 'ledger.db');
    let store = new SqliteEventStore(file, { codec: createCodec(keys) });
    const { caseId } = await (async () => {
      const seed = new Seeder(store);
      await seed.protocol();
      return seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
    })();
    await store.close();
    // A newer version's event, as it would be in the ledger.
    const db = new Database(file);
    const metadata = { zone: ZONE, agency: AGENCIES.sds, operator: 'op', occurredAt: '2025-06-02T10:00:00.000Z', commandId: randomUUID(), correlationId: 'c', schemaVersion: 1 };
    db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, 1, ?, ?, ?, ?)').run(
      caseStream(ZONE, caseId),
      randomUUID(),
      'CaseRenamed',
      Buffer.from(JSON.stringify({ label: 'a later feature' })),
      Buffer.from(JSON.stringify(metadata)),
    );
    db.close();

    store = new SqliteEventStore(file, { codec: createCodec(keys) });
    const note = await new Seeder(store).run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: 'after the upgrade' }] }, caseId);
    expect(note.revision).toBe(2n);
    const models = ReadModels.open(join(dir, 'views.db'), readModelCrypto(keys), undefined, readsLedger ? ledgerReaderOf(store) : undefined);
    const runner = new ProjectionRunner(store, models);
    await runner.runUntilCaughtUp();
    expect(runner.error).toBeUndefined();
    const partition = models.cases.partition({ zone: ZONE, agency: AGENCIES.sds });
    const view = partition.get(caseId)!.view;
    expect(JSON.stringify(view)).toContain('after the upgrade');
    // What a history is computed from, read on demand: the known events only.
    expect(partition.ledgerOf(caseId)!.entries.map((e) => e.type)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    models.close();
    await store.close();
  });
});
