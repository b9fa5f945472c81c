import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { VIEWS_SCHEMA } from '../../projections/views-db';
import { submitReferral } from '../../src/case/submit-referral';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/* Issue 14.2: the views' checkpoint is a position in one log; views made from another are rebuilt, never resumed. */
describe('views tied to the ledger they follow', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-views-identity-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('throws away views made from another log, and keeps those of its own', async () => {
    const keys = testKeys();
    const views = join(dir, 'views.db');
    const first = new SqliteEventStore(join(dir, 'a', 'ledger.db'), { codec: createCodec(keys) });
    const seed = new Seeder(first);
    await seed.protocol();
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
    let models = ReadModels.open(views, readModelCrypto(keys), await first.identity());
    await new ProjectionRunner(first, models).runUntilCaughtUp();
    expect(models.cases.partition({ zone: ZONE, agency: AGENCIES.serd }).get(caseId)).toBeDefined();
    expect(models.checkpoint()).toBeDefined();
    models.close();

    // The same folder's views, now in front of another ledger (a wiped server, another store).
    const second = new SqliteEventStore(join(dir, 'b', 'ledger.db'), { codec: createCodec(keys) });
    models = ReadModels.open(views, readModelCrypto(keys), await second.identity());
    expect(models.checkpoint()).toBeUndefined();
    expect(models.cases.partition({ zone: ZONE, agency: AGENCIES.serd }).get(caseId)).toBeUndefined();
    await new Seeder(second).protocol();
    await new ProjectionRunner(second, models).runUntilCaughtUp();
    const position = models.checkpoint();
    models.close();

    models = ReadModels.open(views, readModelCrypto(keys), await second.identity());
    expect(models.checkpoint()).toBe(position);
    models.close();
    await first.close();
    await second.close();
  });

  it('throws away views of another shape (an older release) and computes them again from the ledger', async () => {
    const keys = testKeys();
    const views = join(dir, 'views.db');
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    const seed = new Seeder(store);
    await seed.protocol();
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
    let models = ReadModels.open(views, readModelCrypto(keys), await store.identity());
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    const position = models.checkpoint();
    models.close();

    // The file as the release before wrote it: an older shape, and a checkpoint that says it is up to date.
    const older = new Database(views);
    older.pragma(`user_version = ${VIEWS_SCHEMA - 1}`);
    older.exec('CREATE TABLE p99_cases (case_id TEXT PRIMARY KEY, view BLOB, list_name BLOB, summary BLOB)');
    older.close();

    models = ReadModels.open(views, readModelCrypto(keys), await store.identity());
    expect(models.checkpoint()).toBeUndefined();
    expect(models.db.prepare("SELECT name FROM sqlite_master WHERE name = 'p99_cases'").get()).toBeUndefined();
    await new ProjectionRunner(store, models).runUntilCaughtUp();
    expect(models.checkpoint()).toBe(position);
    expect(models.cases.partition({ zone: ZONE, agency: AGENCIES.serd }).get(caseId)?.view.person).toMatchObject({ familyName: PERSON.familyName });
    models.close();
    await store.close();
  });
});
