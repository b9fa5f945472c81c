import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedPositions } from '../../src/audit/audit';
import { Checkpoints } from '../../src/audit/checkpoints';
import { hashedInThread, ParallelHashedEvents } from '../../src/audit/hashed-events';
import { prefixedLeafBytes } from '../../src/audit/leaf';
import { openAudit } from '../../src/audit/open-audit';
import { CheckpointKeys } from '../../src/audit/signing-keys';
import { verifyLedger } from '../../src/audit/verify-ledger';
import { ZoneLogs } from '../../src/audit/zone-logs';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { Disclosures } from '../../src/reads/disclosures';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/*
 * Tampering with the files, as someone with the data folder open would: each change to the
 * ledger or its checkpoints must be caught by verification, at the position where the ledger
 * stops being what was logged and signed.
 */

const OTHER_ZONE = 'altra-zona';
/**
 * `ledger verify` reads and hashes in worker threads, which only the compiled code has; the
 * TypeScript sources run here hash in this thread. Each tampered ledger is verified both ways.
 */
const BUILT_WORKER = join(__dirname, '../../dist/src/audit/hash-worker.js');
const workersBuilt = existsSync(BUILT_WORKER);
if (!workersBuilt) console.warn(`tampering: ${BUILT_WORKER} is not built (npm run build): verification through worker threads is not compared here`);
const clock = { now: () => new Date('2025-06-02T09:00:00Z') };

interface Template {
  readonly dir: string;
  /** Positions of the zone's events, in order. */
  readonly positions: number[];
  /** The sizes of the zone's two checkpoints. */
  readonly signed: [number, number];
}

async function seedCases(seed: Seeder, count: number, zone = ZONE) {
  for (let i = 0; i < count; i++) {
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: { ...PERSON, givenName: `Mario${i}` }, needs: ['addiction'] }, undefined, zone);
    await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'addiction' }, caseId, zone);
    await seed.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'common', text: `a note ${i}` }] }, caseId, zone);
    await new Disclosures(seed.store, clock).record(seed.actor(AGENCIES.cpi, ['operator'], zone), 'case.read', [{ caseId, outcome: 'not-found' }], {
      requestId: `r${i}`,
      purpose: 'case-management',
    });
  }
}

async function makeTemplate(): Promise<Template> {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-tamper-'));
  const store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(testKeys()) });
  const opened = openAudit({ dataDir: dir }, store, clock);
  const seed = new Seeder(store, clock);
  await seed.protocol();
  await seed.protocol(undefined, OTHER_ZONE);
  await seedCases(seed, 4);
  await seedCases(seed, 2, OTHER_ZONE);
  const first = await opened.audit.checkpoint(ZONE);
  await seedCases(seed, 3);
  const second = await opened.audit.checkpoint(ZONE);
  await opened.audit.checkpoint(OTHER_ZONE);
  // Events after the last checkpoint: covered by the log only.
  await seedCases(seed, 2);
  const positions = store
    .records(0, 100_000)
    .filter((r) => r.stream.includes(`${ZONE}`))
    .map((r) => r.position);
  await opened.close();
  await store.close();
  return { dir, positions, signed: [first.size, second.size] };
}

describe('verification of a tampered ledger', () => {
  let template: Template;
  const copies: string[] = [];

  beforeAll(async () => {
    template = await makeTemplate();
  });
  afterAll(() => {
    for (const dir of [template.dir, ...copies]) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the template, changed by `tamper` with the files closed, then verified as the service does. */
  async function verifyAfter(tamper: (ledger: Database.Database, checkpoints: Database.Database) => void, zone: string = ZONE) {
    return verifyCopy(tamperedCopy(tamper), zone);
  }

  /** A copy of the template, changed by `tamper` with the files closed; its folder. */
  function tamperedCopy(tamper: (ledger: Database.Database, checkpoints: Database.Database) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-tampered-'));
    copies.push(dir);
    cpSync(template.dir, dir, { recursive: true });
    const ledger = new Database(join(dir, 'ledger.db'));
    const checkpoints = new Database(join(dir, 'audit', 'checkpoints.db'));
    tamper(ledger, checkpoints);
    ledger.close();
    checkpoints.close();
    return dir;
  }

  /** A data folder verified as the service does (and as `ledger verify` does, where the worker is built). */
  async function verifyCopy(dir: string, zone: string = ZONE) {
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const opened = openAudit({ dataDir: dir }, store, clock);
    const scope = zone === 'every zone' ? {} : { zone };
    try {
      const report = await opened.audit.verify(scope.zone);
      if (workersBuilt) expect(await verifyWithWorkers(dir, store, scope)).toEqual(report);
      return report;
    } finally {
      await opened.close();
      await store.close();
    }
  }

  /** The same verification as `ledger verify` runs it: the built worker threads read and hash ahead, leaves included. */
  async function verifyWithWorkers(dir: string, store: SqliteEventStore, scope: { zone?: string }, pool?: ParallelHashedEvents) {
    const keys = new CheckpointKeys(join(dir, 'audit', 'keys'));
    const checkpoints = new Checkpoints(join(dir, 'audit', 'checkpoints.db'), keys);
    const parallel = pool ?? new ParallelHashedEvents(store.file, 2, 4, BUILT_WORKER);
    parallel.newWalk();
    try {
      return await verifyLedger({
        events: parallel.events,
        logs: store.zoneLogs!,
        checkpoints: checkpoints.all(),
        head: await embeddedPositions(store, store.zoneLogs!).head(),
        publicKey: (keyId) => keys.publicKey(keyId),
        pageSize: 7,
        ...scope,
      });
    } finally {
      if (!pool) await parallel.close();
      checkpoints.close();
    }
  }

  /** A copy of the template to change while it is open. */
  function copyOfTemplate(): string {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-kept-'));
    copies.push(dir);
    cpSync(template.dir, dir, { recursive: true });
    return dir;
  }

  (workersBuilt ? it : it.skip)('verifies again and again with threads kept (the service): a change made between two runs is found by the next', async () => {
    const dir = copyOfTemplate();
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const pool = new ParallelHashedEvents(store.file, 2, 4, BUILT_WORKER);
    try {
      const clean = { ok: true, eventsChecked: template.positions.length, checkpointsChecked: 2 };
      expect(await verifyWithWorkers(dir, store, { zone: ZONE }, pool)).toEqual(clean);
      expect(await verifyWithWorkers(dir, store, { zone: ZONE }, pool)).toEqual(clean);
      const target = at(12);
      const ledger = new Database(join(dir, 'ledger.db'));
      const data = Buffer.from(row(ledger, target).data as Buffer);
      data[data.length - 3] = data[data.length - 3]! ^ 0x01;
      ledger.prepare('UPDATE events SET data = ? WHERE position = ?').run(data, target);
      ledger.close();
      expect(await verifyWithWorkers(dir, store, { zone: ZONE }, pool)).toMatchObject({ ok: false, firstInvalidPosition: target, reason: 'altered' });
    } finally {
      await pool.close();
      await store.close();
    }
  });

  it('fails a verification whose hash thread stops, and the pool answers nothing more', async () => {
    const dir = copyOfTemplate();
    const dies = join(dir, 'dies.js');
    writeFileSync(dies, "require('node:worker_threads').parentPort.on('message', () => process.exit(3));\n");
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const pool = new ParallelHashedEvents(store.file, 2, 4, dies);
    try {
      await expect(verifyWithWorkers(dir, store, { zone: ZONE }, pool)).rejects.toThrow(/could not read the ledger: a hash worker stopped \(exit code 3\)/);
      expect(pool.stopped).toMatch(/exit code 3/);
      await expect(pool.events(0, 7, 10)).rejects.toThrow(/could not read the ledger/);
    } finally {
      await pool.close();
      await store.close();
    }
  });

  const at = (i: number) => template.positions[i]!;
  const row = (db: Database.Database, position: number) => db.prepare('SELECT * FROM events WHERE position = ?').get(position) as Record<string, unknown>;

  it('passes the ledger as written, every event and checkpoint of the zone checked', async () => {
    const report = await verifyAfter(() => undefined);
    expect(report).toEqual({ ok: true, eventsChecked: template.positions.length, checkpointsChecked: 2 });
    expect(template.signed[0]).toBeGreaterThan(0);
  });

  it('passes every zone from the command line scope, and checks only the caller zone otherwise', async () => {
    const everything = await verifyAfter(() => undefined, 'every zone');
    expect(everything.ok).toBe(true);
    expect(everything.eventsChecked).toBeGreaterThan(template.positions.length);
    expect(everything.checkpointsChecked).toBe(3);
  });

  it('passes a ledger that grows while it is verified: what is appended meanwhile is left for next time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-growing-'));
    copies.push(dir);
    cpSync(template.dir, dir, { recursive: true });
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(testKeys()) });
    const opened = openAudit({ dataDir: dir }, store, clock);
    const seed = new Seeder(store, clock);
    const head = Number((await store.headPosition())!.commit);
    let appended = 0;
    // Every page read is followed by appends in both zones before the next, as a busy service would.
    const report = await verifyLedger({
      events: async (after, limit, head) => {
        const page = hashedInThread(
          (a, l) => store.leafInputs(a, l),
          (a, u, l) => store.zoneLogs!.leavesBetween(a, u, l),
        )(after, limit, head);
        await seedCases(seed, 1, appended++ % 2 ? ZONE : OTHER_ZONE);
        return page;
      },
      logs: store.zoneLogs!,
      checkpoints: [],
      publicKey: () => undefined,
      head,
      pageSize: 5,
    });
    expect(appended).toBeGreaterThan(5);
    expect(report).toMatchObject({ ok: true });
    expect((await opened.audit.verify()).ok).toBe(true);
    await opened.close();
    await store.close();
  });

  it('finds one flipped byte of one sealed payload, at its position', async () => {
    const target = at(10);
    const report = await verifyAfter((db) => {
      const data = Buffer.from(row(db, target).data as Buffer);
      data[data.length - 5] = data[data.length - 5]! ^ 0x01;
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(data, target);
    });
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: target, reason: 'altered' });
  });

  it('finds a changed author in the metadata', async () => {
    const target = at(12);
    const report = await verifyAfter((db) => {
      const metadata = JSON.parse((row(db, target).metadata as Buffer).toString('utf8')) as Record<string, unknown>;
      db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(Buffer.from(JSON.stringify({ ...metadata, agency: AGENCIES.uepe })), target);
    });
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: target, reason: 'altered' });
  });

  it('finds a stored leaf hash written back as text, at its event', async () => {
    const report = await verifyAfter((db) => {
      db.prepare('UPDATE log_leaves SET hash = CAST(hash AS TEXT) WHERE zone = ? AND idx = 9').run(ZONE);
    });
    expect(report).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(9) });
  });

  it('fails, naming the position, on an event with a NULL field (the table rebuilt without its NOT NULL)', async () => {
    const target = at(6);
    const dir = mkdtempSync(join(tmpdir(), 'ledger-tampered-'));
    copies.push(dir);
    cpSync(template.dir, dir, { recursive: true });
    const db = new Database(join(dir, 'ledger.db'));
    db.exec(`ALTER TABLE events RENAME TO events_before;
      CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, revision INTEGER, id TEXT UNIQUE, type TEXT, data BLOB, metadata BLOB,
        recorded_at TEXT, UNIQUE (stream, revision));
      INSERT INTO events SELECT * FROM events_before;
      DROP TABLE events_before;`);
    db.prepare('UPDATE events SET data = NULL WHERE position = ?').run(target);
    db.close();
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const opened = openAudit({ dataDir: dir }, store, clock);
    try {
      const named = new RegExp(`position ${target} has a NULL field`);
      await expect(opened.audit.verify(ZONE)).rejects.toThrow(named);
      if (workersBuilt) await expect(verifyWithWorkers(dir, store, { zone: ZONE })).rejects.toThrow(named);
    } finally {
      await opened.close();
      await store.close();
    }
  });

  it('finds a deleted event, at the position it had', async () => {
    const target = at(7);
    const report = await verifyAfter((db) => db.prepare('DELETE FROM events WHERE position = ?').run(target));
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: target, reason: 'missing' });
  });

  it('finds two events swapped, at the first of them', async () => {
    const [p, q] = [at(5), at(9)];
    const report = await verifyAfter((db) => {
      const a = row(db, p);
      const b = row(db, q);
      const put = db.prepare('UPDATE events SET stream = ?, revision = ?, id = ?, type = ?, data = ?, metadata = ? WHERE position = ?');
      db.transaction(() => {
        db.prepare("UPDATE events SET id = 'moving', revision = -1 WHERE position = ?").run(q);
        put.run(b.stream, b.revision, b.id, b.type, b.data, b.metadata, p);
        put.run(a.stream, a.revision, a.id, a.type, a.data, a.metadata, q);
      })();
    });
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: p, reason: 'altered' });
  });

  it('finds an event appended around the service, at its position', async () => {
    let forged = 0;
    const report = await verifyAfter((db) => {
      const model = row(db, at(3));
      const info = db
        .prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)')
        .run(model.stream, 1000, '00000000-0000-4000-8000-0000000000ff', model.type, model.data, model.metadata);
      forged = Number(info.lastInsertRowid);
    });
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: forged, reason: 'not-in-log' });
  });

  it('finds a forged checkpoint by its signature', async () => {
    const report = await verifyAfter((_ledger, checkpoints) => {
      checkpoints.prepare('UPDATE checkpoints SET size = size - 1 WHERE zone = ? AND size = ?').run(ZONE, template.signed[1]);
    });
    expect(report).toMatchObject({ ok: false, reason: 'checkpoint-forged', checkpoint: { size: template.signed[1] - 1 } });
    expect(report.firstInvalidPosition).toBeUndefined();
  });

  it('finds a checkpoint signed by a key that is not among the checkpoint keys', async () => {
    const report = await verifyAfter((_ledger, checkpoints) => checkpoints.prepare("UPDATE checkpoints SET key_id = '0000000000000000' WHERE zone = ?").run(ZONE));
    expect(report).toMatchObject({ ok: false, reason: 'checkpoint-key-unknown' });
  });

  it('finds a ledger cut below a signed checkpoint, log and all, just after the last event left', async () => {
    const keep = template.signed[1] - 4;
    const cut = at(keep);
    const report = await verifyAfter((db) => {
      db.prepare('DELETE FROM events WHERE position >= ?').run(cut);
      db.prepare('DELETE FROM log_leaves WHERE position >= ?').run(cut);
      db.prepare('DELETE FROM log_nodes WHERE zone = ? AND idx * (1 << level) + (1 << level) > ?').run(ZONE, keep);
    });
    expect(report).toMatchObject({ ok: false, reason: 'truncated', checkpoint: { size: template.signed[1] } });
    // The other zone's events after the cut are gone too; this zone's first missing one is `cut`.
    expect(report.firstInvalidPosition).toBe(at(keep - 1) + 1);
  });

  it('finds events cut from the end, where the log still names them', async () => {
    const cut = at(template.positions.length - 3);
    const report = await verifyAfter((db) => db.prepare('DELETE FROM events WHERE position >= ?').run(cut));
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: cut, reason: 'missing' });
  });

  it('finds history rewritten with its log rebuilt to match, by the signed root, after the last checkpoint that holds', async () => {
    const target = at(template.signed[0] + 2);
    const report = await verifyAfter((db) => {
      const data = Buffer.from(row(db, target).data as Buffer);
      data[data.length - 1] = data[data.length - 1]! ^ 0x80;
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(data, target);
      // Rebuild the whole log from the altered events, as a careful forger would.
      db.exec('DELETE FROM log_leaves; DELETE FROM log_nodes;');
      const logs = new ZoneLogs(db);
      db.transaction(() => {
        for (const r of db.prepare('SELECT position, stream, revision, id, type, data, metadata FROM events ORDER BY position').all() as never[])
          logs.append((r as { position: number }).position, r);
      })();
    });
    expect(report).toMatchObject({ ok: false, reason: 'checkpoint-mismatch', checkpoint: { size: template.signed[1] }, firstInvalidPosition: at(template.signed[0]) });
  });

  it('finds an interior node of the log changed (proofs would be served from it)', async () => {
    const report = await verifyAfter((db) => {
      db.prepare('UPDATE log_nodes SET hash = zeroblob(32) WHERE zone = ? AND level = 4 AND idx = 1').run(ZONE);
    });
    expect(report).toMatchObject({ ok: false, reason: 'log-altered', firstInvalidPosition: at(16) });
  });

  it('finds a leaf hash of the log changed, at its event', async () => {
    const report = await verifyAfter((db) => {
      db.prepare('UPDATE log_leaves SET hash = zeroblob(32) WHERE zone = ? AND idx = 9').run(ZONE);
    });
    expect(report).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(9) });
  });

  it('finds a leaf whose hash was emptied or cut short, at its event', async () => {
    const emptied = await verifyAfter((db) => {
      db.prepare("UPDATE log_leaves SET hash = X'' WHERE zone = ? AND idx = 11").run(ZONE);
    });
    expect(emptied).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(11) });
    const short = await verifyAfter((db) => {
      db.prepare('UPDATE log_leaves SET hash = substr(hash, 1, 31) WHERE zone = ? AND idx = 12').run(ZONE);
    });
    expect(short).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(12) });
  });

  it('finds an interior node rewritten as text, without failing', async () => {
    const report = await verifyAfter((db) => {
      db.prepare('UPDATE log_nodes SET hash = CAST(hash AS TEXT) WHERE zone = ? AND level = 4 AND idx = 0').run(ZONE);
    });
    expect(report).toMatchObject({ ok: false, reason: 'log-altered', firstInvalidPosition: at(0) });
  });

  it('gives no inclusion proof for a leaf whose hash the log no longer holds', async () => {
    const dir = tamperedCopy((db) => db.prepare("UPDATE log_leaves SET hash = X'' WHERE zone = ? AND idx = 3").run(ZONE));
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const opened = openAudit({ dataDir: dir }, store, clock);
    try {
      await expect(opened.audit.inclusion(ZONE, at(3))).rejects.toThrow(/no hash for the leaf .* run verification/);
      // A leaf whose proof does not pass through it is still proved (its path takes the stored node over 0-15).
      await expect(opened.audit.inclusion(ZONE, at(20))).resolves.toMatchObject({ leafIdx: 20 });
    } finally {
      await opened.close();
      await store.close();
    }
  });

  /** The log as files written before 2026-12-02 kept it: leaf hashes as rows of log_nodes at level 0, log_leaves without them. */
  function toFormerLog(db: Database.Database) {
    db.exec(`
      INSERT INTO log_nodes (zone, level, idx, hash) SELECT zone, 0, idx, hash FROM log_leaves;
      CREATE TABLE former_leaves (position INTEGER PRIMARY KEY, zone TEXT NOT NULL, idx INTEGER NOT NULL);
      INSERT INTO former_leaves SELECT position, zone, idx FROM log_leaves;
      DROP TABLE log_leaves;
      ALTER TABLE former_leaves RENAME TO log_leaves;
    `);
  }

  it('moves a log of the former format to the present one on open, every hash kept: it verifies, and proves as before', async () => {
    const before = new SqliteEventStore(join(template.dir, 'ledger.db'));
    const proof = before.zoneLogs!.log(ZONE).inclusionProof(5, template.signed[1]);
    await before.close();
    const dir = tamperedCopy((db) => toFormerLog(db));
    const report = await verifyCopy(dir, 'every zone');
    expect(report).toMatchObject({ ok: true, eventsChecked: expect.any(Number) });
    const after = new SqliteEventStore(join(dir, 'ledger.db'));
    try {
      expect(after.zoneLogs!.log(ZONE).inclusionProof(5, template.signed[1])).toEqual(proof);
    } finally {
      await after.close();
    }
    const db = new Database(join(dir, 'ledger.db'));
    try {
      expect(db.prepare('SELECT count(*) AS n FROM log_nodes WHERE level = 0').get()).toEqual({ n: 0 });
      // A service of the former version still running on the file cannot add a leaf without its hash.
      expect(() => db.prepare('INSERT INTO log_leaves (position, zone, idx) VALUES (?, ?, ?)').run(1e9, ZONE, 1e6)).toThrow(/NOT NULL/);
    } finally {
      db.close();
    }
  });

  it('finds, after the move, a leaf hash changed or gone in the former format, at its event', async () => {
    const changed = await verifyAfter((db) => {
      toFormerLog(db);
      db.prepare('UPDATE log_nodes SET hash = zeroblob(32) WHERE zone = ? AND level = 0 AND idx = 7').run(ZONE);
    });
    expect(changed).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(7) });
    const gone = await verifyAfter((db) => {
      toFormerLog(db);
      db.prepare('DELETE FROM log_nodes WHERE zone = ? AND level = 0 AND idx = 8').run(ZONE);
    });
    expect(gone).toMatchObject({ ok: false, reason: 'altered', firstInvalidPosition: at(8) });
  });

  it('adopts nothing when only the table of leaves is dropped: verification reports the events as never logged', async () => {
    const report = await verifyAfter((db) => db.exec('DROP TABLE log_leaves'));
    expect(report).toMatchObject({ ok: false, firstInvalidPosition: at(0) });
    expect(report.reason).toBe('not-in-log');
  });

  it('brings a ledger written before the log existed into it once, on its first open with the log: it verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-before-log-'));
    copies.push(dir);
    const before = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(testKeys()), merkle: false });
    const seed = new Seeder(before, clock);
    await seed.protocol();
    await seedCases(seed, 2);
    const events = before.records(0, 1_000).length;
    await before.close();
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    const opened = openAudit({ dataDir: dir }, store, clock);
    try {
      expect(store.zoneLogs!.lastPosition()).toBe(store.records(0, 1_000).at(-1)!.position);
      expect(await opened.audit.verify()).toMatchObject({ ok: true, eventsChecked: events });
    } finally {
      await opened.close();
      await store.close();
    }
  });

  it('makes in SQL the very leaf bytes the service hashes, for every event', async () => {
    const store = new SqliteEventStore(join(template.dir, 'ledger.db'));
    try {
      const rows = store.records(0, 100_000);
      const made = store.leafInputs(0, 100_000);
      expect(made.map(([position]) => position)).toEqual(rows.map((r) => r.position));
      rows.forEach((row, i) =>
        expect({ position: row.position, same: Buffer.from(made[i]![2]!, 'hex').equals(prefixedLeafBytes(row)) }).toEqual({ position: row.position, same: true }),
      );
    } finally {
      await store.close();
    }
  });

  it('adopts nothing when the log tables are dropped: the signed roots still catch the change', async () => {
    const target = at(4);
    const report = await verifyAfter((db) => {
      const data = Buffer.from(row(db, target).data as Buffer);
      data[3] = data[3]! ^ 0x01;
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(data, target);
      db.exec('DROP TABLE log_leaves; DROP TABLE log_nodes;');
    });
    expect(report).toMatchObject({ ok: false, reason: 'checkpoint-mismatch', checkpoint: { size: template.signed[0] }, firstInvalidPosition: at(0) });
  });
});
