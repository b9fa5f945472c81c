import type Database from 'better-sqlite3';
import { zoneOfStream } from '../../events/streams';
import { HASH_SIZE, leafHashOf, MerkleLog, type NodeStore, subtreeRoot } from './merkle';
import type { LeafInput } from './leaf';
import { columnExists, tableExists } from '../store/sqlite-schema';

/** An event as stored, not decoded, at its ledger position: what a leaf covers. */
export interface LedgerRecord extends LeafInput {
  readonly position: number;
}

/** One leaf of a zone's log: which event (by ledger position) and its hash. */
export interface LogLeaf {
  readonly position: number;
  readonly zone: string;
  readonly index: number;
  readonly hash: Buffer;
}

/**
 * Interior nodes below this level are not stored: a node of level 1 to 3 is the root of at
 * most 8 leaves, hashed again from them when asked (one read, seven hashes). It keeps what each
 * commit writes to a leaf and one node in eight, instead of about two rows an event.
 */
export const STORED_FROM_LEVEL = 4;

/** A stored value is a hash only as a 32-byte blob: anything else (rewritten as text, emptied) is none. */
const IS_HASH = "typeof(hash) = 'blob' AND length(hash) = 32";

/** A leaf's columns as LogLeaf names them, its hash given by `hash` (an SQL expression). */
const leafColumns = (hash: string) => `SELECT position, zone, idx AS "index", ${hash} AS hash FROM log_leaves`;
const BETWEEN = 'WHERE position > ? AND position <= ? ORDER BY position LIMIT ?';
const STORED_HASH = `CASE WHEN ${IS_HASH} THEN hash END`;

/**
 * The leaves of the events at positions in (?, ?], at most ?, in position order, each with its
 * stored hash: NULL where it holds no hash.
 */
export const LEAVES_BETWEEN_SQL = `${leafColumns(STORED_HASH)} ${BETWEEN}`;

/** The same, each stored hash as hexadecimal text ('' for none): the hash worker's form, since a string costs it far less than a Buffer (leaf.ts). */
export const LEAVES_BETWEEN_HEX_SQL = `${leafColumns(`CASE WHEN ${IS_HASH} THEN hex(hash) ELSE '' END`)} ${BETWEEN}`;

/** A leaf read with no hash (NULL) gets an empty one, which no 32-byte hash equals. */
const withHash = (leaf: LogLeaf): LogLeaf => (leaf.hash ? leaf : { ...leaf, hash: Buffer.alloc(0) });

/**
 * The Merkle logs of the ledger, one per zone (RFC 6962 / 9162 trees), kept in SQLite tables
 * beside the events. The embedded store (src/store/sqlite-event-store.ts) writes an event's leaf
 * and the subtrees it completes in the same transaction as the event itself, so the log and the
 * ledger can never disagree except by tampering; in EventStoreDB mode a follower feeds an
 * instance of its own (src/audit/audit-follower.ts).
 *
 *   log_leaves (position) → the event's zone, its index in the zone's log and its leaf hash;
 *              indexed by (zone, idx) too (not UNIQUE: appends keep indexes unique, and a log
 *              whose rows were duplicated by hand must still open, for verification to say so)
 *   log_nodes  (zone, level, idx) → complete subtrees of level ≥ 4, each written once
 *
 * One row an event, written by one statement (the leaf hashes were kept in log_nodes at level 0
 * until 2026-12-02, a second row and statement an event; migrateLeaves moves an older file).
 *
 * Zone sizes and each zone's right edge are remembered between appends; whoever rolls back a
 * transaction that appended must call rolledBack(), and a writer that shares the file with
 * another process calls forget() at the start of each write transaction (the other may have
 * appended since).
 */
export class ZoneLogs {
  private readonly s;
  private readonly logs = new Map<string, { log: MerkleLog; nodes: SqlNodeStore; stale: boolean }>();
  /** True when the log did not exist before (no table of leaves, no node): an older ledger must be brought into it once. */
  readonly created: boolean;

  /** Call with the connection's busy_timeout set: making or moving the tables waits for the write lock. */
  constructor(db: Database.Database) {
    let created = false;
    // Checked first without a lock; when the tables must be made or moved, again under the write
    // lock (IMMEDIATE), since another process opening the file may be doing the same.
    if (!schemaIsCurrent(db)) {
      db.transaction(() => {
        // A log whose leaves' table is gone while its nodes are there was cut, not never made:
        // nothing is brought into it again (verification reports what is missing).
        created = !tableExists(db, 'log_leaves') && !(tableExists(db, 'log_nodes') && db.prepare('SELECT 1 FROM log_nodes LIMIT 1').get() !== undefined);
        db.exec(`
          DROP TABLE IF EXISTS merkle_leaves;
          DROP TABLE IF EXISTS merkle_nodes;
          CREATE TABLE IF NOT EXISTS log_nodes (
            zone TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
            PRIMARY KEY (zone, level, idx)
          ) WITHOUT ROWID;
        `);
        if (!created) migrateLeaves(db);
        db.exec(`${LEAVES_TABLE}; CREATE INDEX IF NOT EXISTS log_leaves_by_index ON log_leaves (zone, idx);`);
      }).immediate();
    }
    this.created = created;
    this.s = {
      size: db.prepare<[string], { n: number | null }>('SELECT max(idx) + 1 AS n FROM log_leaves WHERE zone = ?'),
      // What holds no hash is not made into proofs.
      leaf: db.prepare<[string, number], { hash: Buffer }>(`SELECT hash FROM log_leaves WHERE zone = ? AND idx = ? AND ${IS_HASH}`),
      node: db.prepare<[string, number, number], { hash: Buffer }>(`SELECT hash FROM log_nodes WHERE zone = ? AND level = ? AND idx = ? AND ${IS_HASH}`),
      leafRange: db.prepare<[string, number, number], { hash: Buffer }>(`SELECT hash FROM log_leaves WHERE zone = ? AND idx >= ? AND idx < ? AND ${IS_HASH} ORDER BY idx`),
      putLeaf: db.prepare<[number, string, number, Uint8Array]>('INSERT INTO log_leaves (position, zone, idx, hash) VALUES (?, ?, ?, ?)'),
      putNode: db.prepare<[string, number, number, Uint8Array]>('INSERT INTO log_nodes (zone, level, idx, hash) VALUES (?, ?, ?, ?)'),
      byPosition: db.prepare<[number], LogLeaf>(`${leafColumns(STORED_HASH)} WHERE position = ?`),
      positionAt: db.prepare<[string, number], { position: number }>('SELECT position FROM log_leaves WHERE zone = ? AND idx = ?'),
      range: db.prepare<[number, number, number], LogLeaf>(LEAVES_BETWEEN_SQL),
      zones: db.prepare<[], { zone: string }>('SELECT DISTINCT zone FROM log_leaves'),
      last: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM log_leaves'),
      nodes: db.prepare<[string, number, number], { level: number; idx: number; hash: Buffer | null }>(
        `SELECT level, idx, ${STORED_HASH} AS hash FROM log_nodes WHERE zone = ? AND (level, idx) > (?, ?) ORDER BY level, idx LIMIT 5000`,
      ),
    };
  }

  /** Appends an event's leaf to its zone's log. Call inside the transaction that writes the event. */
  append(position: number, event: LeafInput): LogLeaf {
    const zone = zoneOfStream(event.stream);
    const hash = leafHashOf(event);
    const { log, nodes } = this.zone(zone);
    nodes.nextPosition = position;
    const index = log.append(hash);
    return { position, zone, index, hash };
  }

  /** The log of a zone (empty if the zone has no event yet). */
  log(zone: string): MerkleLog {
    return this.zone(zone).log;
  }

  size(zone: string): number {
    return this.zone(zone).log.size;
  }

  zones(): string[] {
    return this.s.zones.all().map((r) => r.zone);
  }

  /** The leaf of the event at a position; its hash is empty where the log holds none (altered). */
  leafAt(position: number): LogLeaf | undefined {
    const leaf = this.s.byPosition.get(position);
    return leaf && withHash(leaf);
  }

  /** The hash of a zone's leaf by index. */
  hashAt(zone: string, index: number): Buffer | undefined {
    return this.s.leaf.get(zone, index)?.hash;
  }

  positionAt(zone: string, index: number): number | undefined {
    return this.s.positionAt.get(zone, index)?.position;
  }

  /** The ledger position of the last leaf of any zone (0 when the log is empty). */
  lastPosition(): number {
    return this.s.last.get()?.position ?? 0;
  }

  /** The leaves whose events are at positions in (after, upTo], in position order; a leaf that holds no hash has an empty one. */
  leavesBetween(after: number, upTo: number, limit: number): LogLeaf[] {
    return this.s.range.all(after, upTo, limit).map(withHash);
  }

  /** Every stored interior node of a zone (levels ≥ STORED_FROM_LEVEL), in (level, index) order, a page at a time; the hash is empty where the row holds none. */
  *interiorNodes(zone: string): Generator<{ level: number; index: number; hash: Buffer }> {
    // From just past level 0 (the leaves are not in this table), so a row put at levels 1 to 3 by hand is checked too.
    let level = 0;
    let idx = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = this.s.nodes.all(zone, level, idx);
      for (const row of page) yield { level: row.level, index: row.idx, hash: row.hash ?? Buffer.alloc(0) };
      if (page.length < 5000) return;
      const last = page[page.length - 1]!;
      level = last.level;
      idx = last.idx;
    }
  }

  /**
   * Doubts what is remembered: a transaction rolled back, or another process may have appended.
   * Each zone's size is read again on its next use; what is remembered is kept only if the file
   * holds exactly as many leaves (every change to a log adds leaves, and only an append this
   * instance remembers, or a rollback of one, can make the counts agree).
   */
  forget(): void {
    for (const entry of this.logs.values()) entry.stale = true;
  }

  /** Drops everything remembered: a transaction that appended was rolled back. */
  rolledBack(): void {
    this.logs.clear();
  }

  private zone(zone: string) {
    let entry = this.logs.get(zone);
    if (entry?.stale) {
      const size = this.s.size.get(zone)?.n ?? 0;
      if (size === entry.nodes.size()) entry.stale = false;
      else entry = undefined;
    }
    if (!entry) {
      const nodes = new SqlNodeStore(zone, this.s, this.s.size.get(zone)?.n ?? 0);
      entry = { log: new MerkleLog(nodes), nodes, stale: false };
      this.logs.set(zone, entry);
    }
    return entry;
  }
}

/**
 * One row an event. `hash` is NOT NULL so that a version of the service from before this layout,
 * still running on the file (or started on it again), fails its appends, writing nothing, rather
 * than adding leaves without hashes; a leaf whose hash was lost before a move holds X'' (no hash).
 */
const LEAVES_TABLE = 'CREATE TABLE IF NOT EXISTS log_leaves (position INTEGER PRIMARY KEY, zone TEXT NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL)';

function schemaIsCurrent(db: Database.Database): boolean {
  const hashColumn = columnExists(db, 'log_leaves', 'hash');
  const index = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'log_leaves_by_index'").get() !== undefined;
  return hashColumn && index && tableExists(db, 'log_nodes') && !tableExists(db, 'merkle_leaves') && !tableExists(db, 'merkle_nodes');
}

/**
 * Moves a log written before 2026-12-02, whose leaf hashes were rows of log_nodes at level 0,
 * to one row a leaf. Each leaf keeps exactly the value that was stored for it (X'', no hash,
 * where its row was gone), so a log altered before the move is found altered after it.
 */
function migrateLeaves(db: Database.Database): void {
  if (!tableExists(db, 'log_leaves') || columnExists(db, 'log_leaves', 'hash')) return;
  db.exec(`
    ALTER TABLE log_leaves RENAME TO log_leaves_before;
    ${LEAVES_TABLE};
    INSERT INTO log_leaves (position, zone, idx, hash)
      SELECT l.position, l.zone, l.idx, coalesce(n.hash, X'') FROM log_leaves_before l
      LEFT JOIN log_nodes n ON n.zone = l.zone AND n.level = 0 AND n.idx = l.idx ORDER BY l.position;
    DROP TABLE log_leaves_before;
    DELETE FROM log_nodes WHERE level = 0;
  `);
}

/** A zone's tree in the two tables: leaves and nodes of level ≥ 4 stored, levels 1 to 3 hashed again from their leaves. */
class SqlNodeStore implements NodeStore {
  /** The ledger position of the leaf being appended (its log_leaves row names its event). */
  nextPosition = -1;
  /**
   * The last node written at each level: the left sibling an append climbs past is always one
   * of them, so appends read nothing back, stored level or not.
   */
  private readonly frontier = new Map<number, { index: number; hash: Uint8Array }>();

  constructor(
    private readonly zone: string,
    private readonly s: {
      leaf: Database.Statement<[string, number], { hash: Buffer }>;
      node: Database.Statement<[string, number, number], { hash: Buffer }>;
      leafRange: Database.Statement<[string, number, number], { hash: Buffer }>;
      putLeaf: Database.Statement<[number, string, number, Uint8Array]>;
      putNode: Database.Statement<[string, number, number, Uint8Array]>;
    },
    private count: number,
  ) {}

  get(level: number, index: number): Uint8Array | undefined {
    const last = this.frontier.get(level);
    if (last?.index === index) return last.hash;
    if (level === 0) return this.s.leaf.get(this.zone, index)?.hash;
    if (level >= STORED_FROM_LEVEL) return this.s.node.get(this.zone, level, index)?.hash;
    const width = 2 ** level;
    const leaves = this.s.leafRange.all(this.zone, index * width, (index + 1) * width);
    return leaves.length === width ? subtreeRoot(leaves.map((l) => l.hash)) : undefined;
  }

  put(level: number, index: number, hash: Uint8Array): void {
    if (hash.length !== HASH_SIZE) throw new RangeError(`a node hash has ${HASH_SIZE} bytes`);
    if (level > 0) {
      this.frontier.set(level, { index, hash });
      if (level >= STORED_FROM_LEVEL) this.s.putNode.run(this.zone, level, index, hash);
      return;
    }
    if (index !== this.count) throw new RangeError(`the next leaf of zone ${this.zone} is ${this.count}, not ${index}`);
    this.s.putLeaf.run(this.nextPosition, this.zone, index, hash);
    this.frontier.set(0, { index, hash });
    this.count += 1;
  }

  size(): number {
    return this.count;
  }
}
