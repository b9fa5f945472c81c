import type Database from 'better-sqlite3';
import { type CaseEventType, caseStream, type EventCodec, isEventType, type ProtocolEventType } from '../../events';
import { parsePosition, type Position, type StoredEvent } from '../../events/event-store';
import { type LedgerEntry, ledgerEntryOf, type ProtocolEntry } from '../policy';
import { tableExists } from '../views-db';

/**
 * Reads one stream of the ledger at once, up to a position (all of it without one): the
 * embedded store can (SqliteEventStore.readStreamNow); EventStoreDB, a server away, cannot.
 */
export type LedgerReader = (stream: string, upTo?: Position) => StoredEvent[];

/**
 * The runner's working copy of the ledger, by case and by zone protocol: the input of the
 * policy, which needs a case's whole history to compute any view of it (a consent given today
 * changes what yesterday's data shows). `dirty` lists the cases whose views must be computed
 * again; it is committed with the checkpoint, so a restart resumes the work.
 *
 * With a LedgerReader (the embedded store) a case's events are read from the ledger itself
 * when they are needed and not kept here: only the zone protocols, the cases each zone has,
 * and the dirty marks are. Without one (EventStoreDB) every case event's stored bytes are
 * copied into `case_entries` as it arrives, so that computing a view never waits on the server.
 */
export class LedgerCopy {
  private readonly s;
  private readonly insertCase: Database.Statement<[string, string, number, string, string, string, Uint8Array, Uint8Array, string, string, string]> | undefined;
  private readonly copiedEntries:
    | Database.Statement<
        [string, string],
        { position: string; revision: number; id: string; type: string; data: Uint8Array; metadata: Uint8Array; agency: string; operator: string; at: string }
      >
    | undefined;
  /**
   * The entries of recently touched cases, kept while they are known to be whole (first seen
   * from revision 0, then every revision in turn): a view computed right after its events were
   * copied need not read and parse them back. Bounded by estimated bytes (a decoded entry takes
   * about three times its data's stored bytes), least recently used first; dropped on any doubt.
   */
  private readonly recent = new Map<string, { entries: LedgerEntry[]; bytes: number }>();
  private recentBytes = 0;
  /** The memory the remembered entries may take, estimated from their stored bytes. */
  static readonly RECENT_BYTES = 64 * 1024 * 1024;

  /** `checkpoint`: how far the views reflect the ledger, as committed (ReadModels.checkpoint). */
  constructor(
    db: Database.Database,
    private readonly codec: EventCodec,
    private readonly checkpoint: () => string | undefined,
    private readonly reader?: LedgerReader,
  ) {
    const copied = tableExists(db, 'case_entries');
    const begun = tableExists(db, 'case_zones');
    // A file whose views were computed reading the ledger itself has no copy to compute from.
    if (!reader && begun && !copied) throw new Error('these views were computed reading the embedded ledger itself: open them with its reader');
    // A copy the reader makes useless is not kept: it would be one more file of sealed events.
    if (reader && copied) db.exec('DROP TABLE case_entries');
    db.exec(`
      -- The cases of each zone (every case event's stream): a renewal marks them all dirty, an
      -- erasure finds the zones of the cases it names.
      CREATE TABLE IF NOT EXISTS case_zones (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (zone, case_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS case_zones_by_case ON case_zones (case_id);
      CREATE TABLE IF NOT EXISTS protocol_entries (
        zone TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (zone, revision)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dirty_cases (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (zone, case_id)
      ) WITHOUT ROWID;
    `);
    if (!reader) {
      db.exec(`
        -- data and metadata are the event's bytes as the ledger stores them: sealed per person by
        -- the one codec, and read back through it (a destroyed key makes this copy unreadable too).
        -- A rowid table: its rows are about a kilobyte, more than a WITHOUT ROWID table keeps in a
        -- page (the rest went to overflow pages: the table took 2.7 times the space, and inserts
        -- and reads of a case were two to three times slower; sqlite.org/withoutrowid.html, 4).
        CREATE TABLE IF NOT EXISTS case_entries (
          zone TEXT NOT NULL, case_id TEXT NOT NULL, revision INTEGER NOT NULL,
          position TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL,
          agency TEXT NOT NULL, operator TEXT NOT NULL, at TEXT NOT NULL,
          UNIQUE (zone, case_id, revision)
        );
      `);
      this.insertCase = db.prepare(
        'INSERT OR IGNORE INTO case_entries (zone, case_id, revision, position, id, type, data, metadata, agency, operator, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.copiedEntries = db.prepare(
        'SELECT position, revision, id, type, data, metadata, agency, operator, at FROM case_entries WHERE zone = ? AND case_id = ? ORDER BY revision',
      );
    }
    this.s = {
      zonesOfCase: db.prepare<[string], { zone: string }>('SELECT zone FROM case_zones WHERE case_id = ?'),
      insertProtocol: db.prepare<[string, number, string, string, string]>('INSERT OR IGNORE INTO protocol_entries (zone, revision, type, data, at) VALUES (?, ?, ?, ?, ?)'),
      protocolEntries: db.prepare<[string], { revision: number; type: string; data: string; at: string }>(
        'SELECT revision, type, data, at FROM protocol_entries WHERE zone = ? ORDER BY revision',
      ),
      caseZone: db.prepare<[string, string]>('INSERT OR IGNORE INTO case_zones (zone, case_id) VALUES (?, ?)'),
      markDirty: db.prepare<[string, string]>('INSERT OR IGNORE INTO dirty_cases (zone, case_id) VALUES (?, ?)'),
      markZoneDirty: db.prepare<[string]>('INSERT OR IGNORE INTO dirty_cases (zone, case_id) SELECT zone, case_id FROM case_zones WHERE zone = ?'),
      dirty: db.prepare<[number], { zone: string; case_id: string }>('SELECT zone, case_id FROM dirty_cases LIMIT ?'),
      clean: db.prepare<[string, string]>('DELETE FROM dirty_cases WHERE zone = ? AND case_id = ?'),
      dirtyCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dirty_cases'),
      isDirty: db.prepare<[{ zone: string; caseId: string }], { dirty: number }>(`SELECT ${LedgerCopy.DIRTY_SQL} AS dirty`),
    };
  }

  /** Copies one case event, its bytes as stored (or, with a reader, only remembers it); the case is marked dirty by markDirty(), once per batch, by the caller. */
  addCaseEntry(zone: string, caseId: string, entry: LedgerEntry, stored: { id: string; raw: { data: Uint8Array; metadata: Uint8Array } }): void {
    // With a reader every event arrives once per checkpoint; one delivered again (a subscription
    // resumed after a rolled-back batch) breaks the run of revisions below and is forgotten.
    const inserted =
      !this.insertCase ||
      this.insertCase.run(zone, caseId, entry.revision, entry.position, stored.id, entry.type, stored.raw.data, stored.raw.metadata, entry.agency, entry.operator, entry.at)
        .changes > 0;
    // A case's zone is known from its first event on: an erasure later in the same batch finds it.
    if (entry.revision === 0) this.s.caseZone.run(zone, caseId);
    const key = `${zone}\u0000${caseId}`;
    const known = this.recent.get(key);
    // An entry holds the decoded data and a few short strings of the metadata, not the metadata's bytes.
    const bytes = 256 + 3 * stored.raw.data.length;
    if (inserted && entry.revision === 0) {
      this.remember(key, { entries: [entry], bytes });
    } else if (inserted && known && known.entries[known.entries.length - 1]!.revision === entry.revision - 1) {
      known.entries.push(entry);
      this.remember(key, { entries: known.entries, bytes: known.bytes + bytes });
    } else if (inserted) {
      this.drop(key);
    }
  }

  /** Memory the remembered entries take now, estimated. */
  get rememberedBytes(): number {
    return this.recentBytes;
  }

  private remember(key: string, value: { entries: LedgerEntry[]; bytes: number }): void {
    this.drop(key);
    // A case bigger than the whole budget is not kept: it is read back when needed.
    if (value.bytes > LedgerCopy.RECENT_BYTES) return;
    this.recent.set(key, value);
    this.recentBytes += value.bytes;
    for (const [oldest] of this.recent) {
      if (this.recentBytes <= LedgerCopy.RECENT_BYTES) break;
      this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const known = this.recent.get(key);
    if (!known) return;
    this.recentBytes -= known.bytes;
    this.recent.delete(key);
  }

  /** The case's views must be computed again (committed with the checkpoint: a restart resumes the work); its zone is recorded too. */
  markDirty(zone: string, caseId: string): void {
    this.s.caseZone.run(zone, caseId);
    this.s.markDirty.run(zone, caseId);
  }

  /** After a rolled-back transaction the remembered entries may hold what the file does not. */
  forgetRecent(): void {
    this.recent.clear();
    this.recentBytes = 0;
  }

  /** A new protocol in force can change every case of the zone (members, what parties receive); a proposal or an approval changes none. */
  addProtocolEntry(zone: string, entry: ProtocolEntry): void {
    this.s.insertProtocol.run(zone, entry.revision, entry.type, JSON.stringify(entry.data), entry.at);
    if (entry.type === 'ProtocolSigned' || entry.type === 'ProtocolRenewed') this.s.markZoneDirty.run(zone);
  }

  /**
   * The case's events in order: remembered, read from the ledger up to `upTo` (the runner's
   * batch), or read back from the copy. A read on demand (a dirty case, a history) reads the ledger
   * only as far as the views' checkpoint, as the copy would hold it: never an event that the
   * zone protocol and the marks it is computed with have not seen (a renewal just before it).
   */
  caseEntries(zone: string, caseId: string, upTo?: Position): LedgerEntry[] {
    const known = this.recent.get(`${zone}\u0000${caseId}`);
    if (known) return known.entries;
    const stream = caseStream(zone, caseId);
    // A type this version does not know (a newer instance's) is passed over, as the runner passes it over.
    if (this.reader)
      return this.reader(stream, upTo ?? this.projected())
        .filter((event) => isEventType(event.type))
        .map(ledgerEntryOf);
    return this.copiedEntries!.all(zone, caseId).map((r) => {
      const decoded = this.codec.decode(stream, r.id, r.type, r.data, r.metadata);
      return {
        position: r.position,
        revision: r.revision,
        type: r.type as CaseEventType,
        data: decoded.data as LedgerEntry['data'],
        agency: r.agency,
        operator: r.operator,
        at: r.at,
        ...(decoded.erased ? { erased: true } : {}),
      };
    });
  }

  /** How far the views reflect the ledger, as committed (nothing before the first checkpoint). */
  private projected(): Position {
    const saved = this.checkpoint();
    return saved ? parsePosition(saved) : { commit: 0n, prepare: 0n };
  }

  /** The zones a case id is in (an erasure names cases, not zones). */
  zonesOfCase(caseId: string): string[] {
    return this.s.zonesOfCase.all(caseId).map((r) => r.zone);
  }

  /** Forgets what is remembered in memory of these cases (their person was erased). */
  forgetCases(caseIds: readonly string[]): void {
    const erased = new Set(caseIds);
    for (const key of [...this.recent.keys()]) if (erased.has(key.slice(key.indexOf('\u0000') + 1))) this.drop(key);
  }

  protocolEntries(zone: string): ProtocolEntry[] {
    return this.s.protocolEntries.all(zone).map((r) => ({ ...r, type: r.type as ProtocolEventType, data: JSON.parse(r.data) }));
  }

  dirtyCases(limit: number): Array<{ zone: string; caseId: string }> {
    return this.s.dirty.all(limit).map((r) => ({ zone: r.zone, caseId: r.case_id }));
  }

  markClean(zone: string, caseId: string): void {
    this.s.clean.run(zone, caseId);
  }

  /**
   * The SQL of isDirty() for a statement of another table on this file (`@zone`, `@caseId`
   * named): a case read asks it in the same statement as its row, one read transaction not two.
   */
  static readonly DIRTY_SQL = 'EXISTS (SELECT 1 FROM dirty_cases WHERE zone = @zone AND case_id = @caseId)';

  /** The case's views wait to be computed again (a read computes them on demand meanwhile). */
  isDirty(zone: string, caseId: string): boolean {
    return this.s.isDirty.get({ zone, caseId })!.dirty === 1;
  }

  dirtyCount(): number {
    return this.s.dirtyCount.get()!.n;
  }
}
