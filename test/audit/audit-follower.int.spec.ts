import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FatalStoreError } from '../../events';
import { verifyEventInclusion } from '../../src/audit/auditor';
import { openAudit, type OpenedAudit } from '../../src/audit/open-audit';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/*
 * The Merkle logs of a store that keeps none itself, as in EventStoreDB mode: a follower builds
 * them from the events the store returns. Run here on the embedded store with its own log turned
 * off, so that the follower, the ordinals and verification run for real.
 */

const clock = { now: () => new Date('2025-06-02T09:00:00Z') };

async function seedCases(seed: Seeder, count: number) {
  for (let i = 0; i < count; i++) {
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] });
    await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'addiction' }, caseId);
    await seed.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: `note ${i}` }] }, caseId);
  }
}

describe('the audit log follower (EventStoreDB mode)', () => {
  let dir: string;
  let store: SqliteEventStore;
  let opened: OpenedAudit;
  let seed: Seeder;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-follower-'));
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(testKeys()), merkle: false, pollIntervalMs: 10 });
    seed = new Seeder(store, clock);
    await seed.protocol();
    await seedCases(seed, 3);
    opened = openAudit({ dataDir: dir }, store, clock);
  });
  afterEach(async () => {
    await opened.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs every event of the ledger, in order, and verifies it', async () => {
    expect(store.zoneLogs).toBeUndefined();
    const report = await opened.audit.verify(ZONE);
    const head = Number((await store.headPosition())!.commit);
    expect(report).toEqual({ ok: true, eventsChecked: head, checkpointsChecked: 0 });
    const { items } = await opened.audit.events(ZONE, 0, 1000);
    expect(items.map((i) => [i.position, i.leafIdx])).toEqual(items.map((_, i) => [i + 1, i]));
  });

  it('proves an event against a signed checkpoint, and follows what is appended later, across a restart', async () => {
    const checkpoint = await opened.audit.checkpoint(ZONE);
    const proof = await opened.audit.inclusion(ZONE, 4, checkpoint.size);
    const [event] = (await opened.audit.events(ZONE, 3, 1)).items;
    expect(verifyEventInclusion({ checkpoint, keys: opened.audit.keys(), proof, leafHash: event!.hash })).toEqual({ ok: true });

    await opened.close();
    await seedCases(seed, 2);
    opened = openAudit({ dataDir: dir }, store, clock);
    const later = await opened.audit.checkpoint(ZONE);
    expect(later.size).toBe(Number((await store.headPosition())!.commit));
    const consistency = await opened.audit.consistency(ZONE, checkpoint.size, later.size);
    expect(consistency.proof.length).toBeGreaterThan(0);
    expect(await opened.audit.verify(ZONE)).toMatchObject({ ok: true, checkpointsChecked: 2 });
  });

  it('shares its file with another follower (the CLI beside the service) without a gap or a double', async () => {
    const other = openAudit({ dataDir: dir }, store, clock);
    await Promise.all([opened.start(), other.start()]);
    await Promise.all([seedCases(seed, 3), opened.audit.verify(ZONE), other.audit.verify(ZONE)]);
    expect(await other.audit.verify(ZONE)).toMatchObject({ ok: true });
    expect(await opened.audit.verify(ZONE)).toMatchObject({ ok: true, eventsChecked: Number((await store.headPosition())!.commit) });
    await other.close();
  });

  it('finds a changed event and a deleted one at their positions', async () => {
    await opened.audit.checkpoint(ZONE);
    await opened.close();
    await store.close();
    const db = new Database(join(dir, 'ledger.db'));
    const row = db.prepare('SELECT data FROM events WHERE position = 5').get() as { data: Buffer };
    row.data[10] = row.data[10]! ^ 1;
    db.prepare('UPDATE events SET data = ? WHERE position = 5').run(row.data);
    db.prepare('DELETE FROM events WHERE position = 8').run();
    db.close();
    store = new SqliteEventStore(join(dir, 'ledger.db'), { merkle: false });
    opened = openAudit({ dataDir: dir }, store, clock);
    expect(await opened.audit.verify(ZONE)).toMatchObject({ ok: false, firstInvalidPosition: 5, reason: 'altered' });
    const db2 = new Database(join(dir, 'ledger.db'));
    db2.prepare('UPDATE events SET data = ? WHERE position = 5').run(Buffer.from(row.data.map((b, i) => (i === 10 ? b ^ 1 : b))));
    db2.close();
    expect(await opened.audit.verify(ZONE)).toMatchObject({ ok: false, firstInvalidPosition: 8, reason: 'missing' });
  });

  it('refuses a log made from another ledger', async () => {
    await opened.start();
    const elsewhere = new SqliteEventStore(join(dir, 'other.db'), { merkle: false });
    const wrong = openAudit({ dataDir: dir }, elsewhere, clock);
    await expect(wrong.start()).rejects.toBeInstanceOf(FatalStoreError);
    await wrong.close();
    await elsewhere.close();
  });
});
