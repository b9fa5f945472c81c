import type Database from 'better-sqlite3';
import { zoneOfStream } from '../../events/streams';
import { HASH_SIZE, leafHash, MerkleLog, type NodeStore } from './merkle';
import { leafBytes, type LeafInput } from './leaf';

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
 * The Merkle logs of the ledger, one per zone (RFC 6962 / 9162 trees), kept in SQLite tables
 * beside the events. The embedded store (src/store/sqlite-event-store.ts) writes an event's leaf
 * and the subtrees it completes in the same transaction as the event itself, so the log and the
 * ledger can never disagree except by tampering; in EventStoreDB mode a follower feeds an
 * instance of its own (src/audit/audit-follower.ts).
 *
 *   merkle_leaves (zone, idx) → the event's ledger position and leaf hash (level 0)
 *   merkle_nodes  (zone, level ≥ 1, idx) → the hash of each complete subtree, written once
 *
 * Zone sizes are cached between appends; whoever rolls back a transaction that appended must
 * call forget(), and a writer that shares the file with another process calls it at the start
 * of each write transaction (the other may have appended since).
 */
export class ZoneLogs {
  private readonly s;
  private readonly logs = new Map<string, { log: MerkleLog; nodes: SqlNodeStore }>();
  /** True when the tables did not exist before: an older ledger must be brought into the log once. */
  readonly created: boolean;

  constructor(db: Database.Database) {
    this.created = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'merkle_leaves'").get() === undefined;
    db.exec(`
      CREATE TABLE IF NOT EXISTS merkle_leaves (
        zone TEXT NOT NULL, idx INTEGER NOT NULL, position INTEGER NOT NULL UNIQUE, hash BLOB NOT NULL,
        PRIMARY KEY (zone, idx)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS merkle_nodes (
        zone TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (zone, level, idx)
      ) WITHOUT ROWID;
    `);
    this.s = {
      size: db.prepare<[string], { n: number | null }>('SELECT max(idx) + 1 AS n FROM merkle_leaves WHERE zone = ?'),
      leaf: db.prepare<[string, number], { hash: Buffer }>('SELECT hash FROM merkle_leaves WHERE zone = ? AND idx = ?'),
      node: db.prepare<[string, number, number], { hash: Buffer }>('SELECT hash FROM merkle_nodes WHERE zone = ? AND level = ? AND idx = ?'),
      putLeaf: db.prepare<[string, number, number, Uint8Array]>('INSERT INTO merkle_leaves (zone, idx, position, hash) VALUES (?, ?, ?, ?)'),
      putNode: db.prepare<[string, number, number, Uint8Array]>('INSERT INTO merkle_nodes (zone, level, idx, hash) VALUES (?, ?, ?, ?)'),
      byPosition: db.prepare<[number], LogLeaf>('SELECT position, zone, idx AS "index", hash FROM merkle_leaves WHERE position = ?'),
      positionAt: db.prepare<[string, number], { position: number }>('SELECT position FROM merkle_leaves WHERE zone = ? AND idx = ?'),
      range: db.prepare<[number, number, number], LogLeaf>(
        'SELECT position, zone, idx AS "index", hash FROM merkle_leaves WHERE position > ? AND position <= ? ORDER BY position LIMIT ?',
      ),
      zones: db.prepare<[], { zone: string }>('SELECT DISTINCT zone FROM merkle_leaves'),
      last: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM merkle_leaves'),
      nodes: db.prepare<[string, number, number], { level: number; idx: number; hash: Buffer }>(
        'SELECT level, idx, hash FROM merkle_nodes WHERE zone = ? AND (level, idx) > (?, ?) ORDER BY level, idx LIMIT 5000',
      ),
    };
  }

  /** Appends an event's leaf to its zone's log. Call inside the transaction that writes the event. */
  append(position: number, event: LeafInput): LogLeaf {
    const zone = zoneOfStream(event.stream);
    const hash = leafHash(leafBytes(event));
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

  leafAt(position: number): LogLeaf | undefined {
    return this.s.byPosition.get(position);
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

  /** The leaves whose events are at positions in (after, upTo], in position order. */
  leavesBetween(after: number, upTo: number, limit: number): LogLeaf[] {
    return this.s.range.all(after, upTo, limit);
  }

  /** Every stored interior node of a zone, in (level, index) order, a page at a time. */
  *interiorNodes(zone: string): Generator<{ level: number; index: number; hash: Buffer }> {
    let level = 0;
    let idx = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = this.s.nodes.all(zone, level, idx);
      for (const row of page) yield { level: row.level, index: row.idx, hash: row.hash };
      if (page.length < 5000) return;
      const last = page[page.length - 1]!;
      level = last.level;
      idx = last.idx;
    }
  }

  /** Drops cached sizes: a transaction rolled back, or another process may have appended. */
  forget(): void {
    this.logs.clear();
  }

  private zone(zone: string) {
    let entry = this.logs.get(zone);
    if (!entry) {
      const nodes = new SqlNodeStore(zone, this.s, this.s.size.get(zone)?.n ?? 0);
      entry = { log: new MerkleLog(nodes), nodes };
      this.logs.set(zone, entry);
    }
    return entry;
  }
}

/** A zone's tree in the two tables: level 0 in merkle_leaves (with the event's position), the rest in merkle_nodes. */
class SqlNodeStore implements NodeStore {
  /** The ledger position of the leaf being appended (level-0 rows name their event). */
  nextPosition = -1;

  constructor(
    private readonly zone: string,
    private readonly s: {
      leaf: Database.Statement<[string, number], { hash: Buffer }>;
      node: Database.Statement<[string, number, number], { hash: Buffer }>;
      putLeaf: Database.Statement<[string, number, number, Uint8Array]>;
      putNode: Database.Statement<[string, number, number, Uint8Array]>;
    },
    private count: number,
  ) {}

  get(level: number, index: number): Uint8Array | undefined {
    return level === 0 ? this.s.leaf.get(this.zone, index)?.hash : this.s.node.get(this.zone, level, index)?.hash;
  }

  put(level: number, index: number, hash: Uint8Array): void {
    if (hash.length !== HASH_SIZE) throw new RangeError(`a node hash has ${HASH_SIZE} bytes`);
    if (level > 0) {
      this.s.putNode.run(this.zone, level, index, hash);
      return;
    }
    if (index !== this.count) throw new RangeError(`the next leaf of zone ${this.zone} is ${this.count}, not ${index}`);
    this.s.putLeaf.run(this.zone, index, this.nextPosition, hash);
    this.count += 1;
  }

  size(): number {
    return this.count;
  }
}
