import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createCodec } from './codec';
import { PREFIXED_LEAF_HEX_SQL } from '../audit/leaf';
import { type LedgerRecord, ZoneLogs } from '../audit/zone-logs';
import {
  type AppendResult,
  type DecodedEvent,
  type EventCodec,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type RawEvent,
  type ReadAllOptions,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionMessage,
  WrongExpectedRevisionError,
} from '../../events/event-store';

interface Row {
  position: number;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: Buffer;
  metadata: Buffer;
}

interface PendingAppend {
  stream: string;
  events: readonly EventToAppend[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface SqliteEventStoreOptions {
  codec?: EventCodec;
  /** How often a caught-up subscription looks for events written by another process (ms). */
  pollIntervalMs?: number;
  /** Rows read per page by readAll and subscriptions. */
  pageSize?: number;
  /**
   * `elsewhere`: this connection never checkpoints the write-ahead log itself; another one does
   * (the projection worker calls checkpoint()). A checkpoint copies the log into the database
   * and fsyncs it, which can take a hundred milliseconds: done by the writer, it would hold up
   * the commit that crosses the threshold and every request waiting on it.
   */
  walCheckpoints?: 'auto' | 'elsewhere';
  /**
   * With `elsewhere`: the write-ahead log size beyond which this connection checkpoints it
   * itself (64 MiB by default), so that the log never grows without bound when the other
   * connection stops doing it (the projection worker died or lags).
   */
  walLimitBytes?: number;
  /**
   * Keep the zones' Merkle logs (src/audit/zone-logs.ts) in the append transaction; on by
   * default. Off only to measure what the log costs (npm run bench).
   */
  merkle?: boolean;
  /**
   * One Int32 shared with the thread that commits (src/reads/projection-thread.ts): set there
   * after a commit. A subscription of this instance clears it before it sleeps, and reads again
   * if it was set, so the committer need send a wake message only when the flag was clear (the
   * subscription may be asleep), not one per commit.
   */
  wakeFlag?: Int32Array;
}

const at = (n: number | bigint): Position => ({ commit: BigInt(n), prepare: BigInt(n) });

/**
 * The embedded event store: one SQLite file in WAL mode, one row per event.
 *
 * Durability. An append resolves only once its commit is on disk (ARCHITECTURE.md property 1,
 * "durable before 201"). SQLite's `synchronous=FULL` would fsync the write-ahead log inside
 * every commit, on the thread that runs it: the main thread, which would answer nothing else
 * for the length of the fsync (tens of milliseconds when the disk stalls). Instead the
 * connection runs `synchronous=NORMAL` (no fsync at commit; SQLite still syncs the log before
 * each checkpoint copies it and the database after) and this class syncs the write-ahead log
 * itself, with `fdatasync` on libuv's thread pool, resolving the appends of a commit only when a
 * sync begun after that commit has finished. The main thread goes on serving meanwhile, and one
 * sync covers every commit written before it began. A failed sync fails those appends and every
 * later one (after an fsync error the kernel may have dropped the pages: nothing written since
 * can be trusted to be durable), so the service stops accepting writes and says so.
 *
 * A commit is visible to other connections before it is durable. Nothing can be disclosed on
 * the strength of it alone: a read answers only after its access-trail record, appended later to
 * the same write-ahead log, is synced, and a sync covers every frame written before it.
 *
 * Group commit. Appends that arrive in the same turn of the event loop are written in one
 * transaction. Each is still checked against its own expected revision inside a savepoint, so
 * a failing append fails alone and writes nothing.
 *
 * The Merkle log. Each event's leaf, and every subtree it completes, is written in the same
 * transaction as the event (src/audit/zone-logs.ts): a committed event is in its zone's log.
 */
export class SqliteEventStore implements EventStore {
  readonly name = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly codec: EventCodec;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly walLimit: number | undefined;
  private readonly wakeFlag: Int32Array | undefined;
  private commitsSinceWalCheck = 0;
  private readonly statements: ReturnType<SqliteEventStore['prepare']>;
  /** Commits written but not yet known durable: each waits for a sync begun after it. */
  private unsynced: Array<(error?: Error) => void> = [];
  private syncing = false;
  /** The write-ahead log, opened for syncing, and its inode (to notice were it ever replaced). */
  private wal: { fd: number; ino: number } | undefined;
  /** The error of a failed sync: every later append fails with it. */
  private syncFailure: Error | undefined;
  /** The zones' Merkle logs, in this file; undefined only when turned off. */
  readonly zoneLogs: ZoneLogs | undefined;

  constructor(
    readonly file: string,
    options: SqliteEventStoreOptions = {},
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // The write-ahead log is synced by this class, off the main thread (see above).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.walLimit = options.walCheckpoints === 'elsewhere' ? (options.walLimitBytes ?? 64 * 1024 * 1024) : undefined;
    if (this.walLimit !== undefined) {
      this.db.pragma('wal_autocheckpoint = 0');
      // After a checkpoint the log restarts from its beginning; the file is cut back to this size then.
      this.db.pragma(`journal_size_limit = ${this.walLimit}`);
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position  INTEGER PRIMARY KEY AUTOINCREMENT,
        stream    TEXT    NOT NULL,
        revision  INTEGER NOT NULL,
        id        TEXT    NOT NULL UNIQUE,
        type      TEXT    NOT NULL,
        data      BLOB    NOT NULL,
        metadata  BLOB    NOT NULL,
        recorded_at TEXT  NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (stream, revision)
      );
      CREATE TABLE IF NOT EXISTS ledger_identity (id TEXT NOT NULL);
    `);
    this.db.prepare('INSERT INTO ledger_identity (id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM ledger_identity)').run(randomUUID());
    this.codec = options.codec ?? createCodec();
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.wakeFlag = options.wakeFlag;
    this.pageSize = options.pageSize ?? 2_000;
    this.appended.setMaxListeners(0);
    this.statements = this.prepare();
    this.zoneLogs = options.merkle === false ? undefined : new ZoneLogs(this.db);
    if (this.zoneLogs?.created) this.bringIntoLog(this.zoneLogs);
  }

  /**
   * A ledger written before the log existed is brought into it once, when the log's tables are
   * made. Never afterwards: an event found outside the log later was not appended by the
   * service, and verification must say so rather than have it adopted.
   */
  private bringIntoLog(logs: ZoneLogs): void {
    this.db
      .transaction(() => {
        // Under the write lock: another process that opened the file meanwhile may have done it.
        if (logs.lastPosition() > 0) return;
        let after = 0;
        for (;;) {
          const page = this.records(after, this.pageSize);
          for (const record of page) logs.append(record.position, record);
          if (page.length < this.pageSize) return;
          after = page[page.length - 1]!.position;
        }
      })
      .immediate();
  }

  private prepare() {
    const db = this.db;
    return {
      lastRevision: db.prepare<[string], { revision: number | null }>('SELECT max(revision) AS revision FROM events WHERE stream = ?'),
      insert: db.prepare<[string, number, string, string, Buffer, Buffer]>('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)'),
      byId: db.prepare<[string], { stream: string; revision: number; position: number }>('SELECT stream, revision, position FROM events WHERE id = ?'),
      readStream: db.prepare<[string, number], Row>('SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision'),
      streamUpTo: db.prepare<[string, number], Row>('SELECT * FROM events WHERE stream = ? AND position <= ? ORDER BY revision'),
      readAll: db.prepare<[number, number], Row>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      records: db.prepare<[number, number], LedgerRecord>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      leafInputs: db
        .prepare<[number, number], [number, string, string | null]>(`SELECT position, stream, ${PREFIXED_LEAF_HEX_SQL} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
        .raw(true),
      head: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM events'),
    };
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    if (this.syncFailure !== undefined) return Promise.reject(this.syncFailure);
    if (events.length === 0) return Promise.reject(new Error('nothing to append'));
    return new Promise((resolve, reject) => {
      this.queue.push({ stream, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    try {
      // IMMEDIATE: take the write lock before reading revisions and log sizes, which another
      // process (the CLI) may have changed since this connection last looked.
      this.db
        .transaction(() => {
          this.zoneLogs?.forget();
          const appendAll = () => {
            for (const pending of batch) {
              this.db.exec('SAVEPOINT append_one');
              try {
                const result = this.appendOne(pending);
                this.db.exec('RELEASE append_one');
                outcomes.push({ ok: true, result });
              } catch (error) {
                this.db.exec('ROLLBACK TO append_one');
                this.db.exec('RELEASE append_one');
                this.zoneLogs?.rolledBack();
                outcomes.push({ ok: false, error });
              }
            }
          };
          // What encoding wrote elsewhere (new data keys) is on disk, once for the batch, before these events are committed.
          if (this.codec.batch) this.codec.batch(appendAll);
          else appendAll();
        })
        .immediate();
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
      this.zoneLogs?.rolledBack();
      for (const pending of batch) pending.reject(error);
      return;
    }
    // A refused append wrote nothing: it fails now. The others wait for their commit to be durable.
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) pending.reject(outcome.error);
    });
    if (outcomes.some((outcome) => outcome.ok)) {
      this.whenDurable((error) => {
        batch.forEach((pending, i) => {
          const outcome = outcomes[i]!;
          if (!outcome.ok) return;
          if (error === undefined) pending.resolve(outcome.result);
          else pending.reject(error);
        });
        this.appended.emit('appended');
      });
    }
    this.guardWal();
  }

  /** Calls `done` once everything committed so far is on disk (with the error if the sync failed). */
  private whenDurable(done: (error?: Error) => void): void {
    if (this.file === ':memory:') return done();
    this.unsynced.push(done);
    if (!this.syncing) this.sync();
  }

  /** One fdatasync of the write-ahead log on the thread pool, for every commit written before it begins. */
  private sync(): void {
    const waiting = this.unsynced;
    this.unsynced = [];
    this.syncing = true;
    const settle = (error: Error | undefined) => {
      this.syncing = false;
      if (error !== undefined) this.syncFailure ??= error;
      for (const done of waiting) done(this.syncFailure);
      if (this.unsynced.length) this.sync();
    };
    let fd: number;
    try {
      fd = this.walFd();
    } catch (error) {
      return settle(error instanceof Error ? error : new Error('the write-ahead log cannot be opened'));
    }
    fdatasync(fd, (error) => settle(error ?? undefined));
  }

  /** The write-ahead log's descriptor, opened once (with its directory synced, as SQLite would do on creating it). */
  private walFd(): number {
    const path = `${this.file}-wal`;
    const ino = statSync(path).ino;
    if (this.wal?.ino === ino) return this.wal.fd;
    // This connection keeps the log open, so it is never replaced; were it, what went to the old one is synced first.
    if (this.wal) {
      fdatasyncSync(this.wal.fd);
      closeSync(this.wal.fd);
    }
    this.wal = { fd: openSync(path, 'r'), ino };
    const directory = openSync(dirname(path), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
    return this.wal.fd;
  }

  /**
   * Resolves once every commit visible to this connection is durable (before signing what the log
   * holds): this process's appends, and another's too. Another process (the service beside
   * `ledger audit checkpoint`) commits with synchronous=NORMAL and syncs the write-ahead log
   * itself, later: so the log is synced here even when this process has nothing pending.
   */
  durable(): Promise<void> {
    return new Promise((resolve, reject) => {
      const waitSync = () => this.whenDurable((error) => (error === undefined ? resolve() : reject(error)));
      if (this.queue.length) setImmediate(waitSync);
      else waitSync();
    });
  }

  /**
   * Checkpoints are another connection's job (`elsewhere`), but if the log passes its limit that
   * connection is not doing it: this one does, after the commit has been answered. The log's size
   * is looked at every 64 commits (a stat).
   */
  private guardWal(): void {
    if (this.walLimit === undefined || this.file === ':memory:' || ++this.commitsSinceWalCheck < 64) return;
    this.commitsSinceWalCheck = 0;
    const size = statSync(`${this.file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (size > this.walLimit) this.checkpoint();
  }

  /** Runs inside the batch transaction and its own savepoint. */
  private appendOne({ stream, events, expected }: PendingAppend): AppendResult {
    const encoded = events.map((e) => this.codec.encode(e, stream));
    const last = this.statements.lastRevision.get(stream)?.revision ?? null;
    const retry = this.recognisedRetry(stream, events, expected, last);
    if (retry) return retry;
    const actual = last === null ? 'no-stream' : BigInt(last);
    if (expected === 'no-stream' ? last !== null : expected !== 'any' && BigInt(last ?? -1) !== expected) {
      throw new WrongExpectedRevisionError(stream, expected, actual);
    }
    let revision = last ?? -1;
    let position = 0;
    for (const e of encoded) {
      revision += 1;
      const data = Buffer.from(e.data);
      const metadata = Buffer.from(e.metadata);
      const info = this.statements.insert.run(stream, revision, e.id, e.type, data, metadata);
      position = Number(info.lastInsertRowid);
      this.zoneLogs?.append(position, { stream, revision, id: e.id, type: e.type, data, metadata });
    }
    return { nextExpectedRevision: BigInt(revision), position: at(position) };
  }

  /**
   * The same events (by id) already appended at the same place: a retry, answered with the
   * original result, as EventStoreDB does for a numeric expected revision or no-stream.
   */
  private recognisedRetry(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision, last: number | null): AppendResult | undefined {
    const first = this.statements.byId.get(events[0]!.id);
    if (!first) return undefined;
    const start = expected === 'no-stream' ? 0 : expected === 'any' ? first.revision : Number(expected) + 1;
    let found = first;
    for (let i = 0; i < events.length; i++) {
      const row = i === 0 ? first : this.statements.byId.get(events[i]!.id);
      if (!row || row.stream !== stream || row.revision !== start + i) {
        throw new WrongExpectedRevisionError(stream, expected, last === null ? 'no-stream' : BigInt(last));
      }
      found = row;
    }
    return { nextExpectedRevision: BigInt(found.revision), position: at(found.position) };
  }

  async readStream(stream: string, options: { fromRevision?: bigint } = {}): Promise<StoredEvent[]> {
    return this.statements.readStream.all(stream, Number(options.fromRevision ?? 0n)).map((row) => this.toStored(row));
  }

  /**
   * A stream's events up to a position (all of them without one), read at once: the read models
   * read a case's history from the ledger itself this way instead of keeping a copy of it
   * (projections/read-models/ledger-copy.ts, LedgerReader).
   */
  readStreamNow(stream: string, upTo?: Position): StoredEvent[] {
    if (this.closed) throw new Error('event store is closed');
    return this.statements.streamUpTo.all(stream, upTo === undefined ? Number.MAX_SAFE_INTEGER : Number(upTo.commit)).map((row) => this.toStored(row));
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    return this.readPage(options.after, options.maxCount, options.streamPrefixes).events;
  }

  async readRaw(options: ReadAllOptions): Promise<RawEvent[]> {
    return this.readPage(options.after, options.maxCount, options.streamPrefixes, (row) => ({
      id: row.id,
      stream: row.stream,
      type: row.type,
      revision: BigInt(row.revision),
      position: at(row.position),
      raw: { data: row.data, metadata: row.metadata },
    })).events;
  }

  /** One page of the global log after `after`, filtered; `scannedTo` is the last position looked at. */
  private readPage<T = StoredEvent>(after: Position | undefined, maxCount: number, prefixes?: readonly string[], map: (row: Row) => T = (row) => this.toStored(row) as T) {
    const events: T[] = [];
    let from = Number(after?.commit ?? 0n);
    let scannedTo = after;
    // Read in pages and filter here: the primary-key scan is the fast path, and filters are prefixes.
    while (events.length < maxCount) {
      const rows = this.statements.readAll.all(from, this.pageSize);
      for (const row of rows) {
        scannedTo = at(row.position);
        from = row.position;
        if (!prefixes || prefixes.some((p) => row.stream.startsWith(p))) {
          events.push(map(row));
          if (events.length === maxCount) break;
        }
      }
      if (rows.length < this.pageSize) return { events, scannedTo, end: events.length < maxCount };
    }
    return { events, scannedTo, end: false };
  }

  /**
   * One page read now (as readPage), its events decoded when awaited: the codec may open a large
   * page's sealed data in another thread meanwhile. A page never awaited (the subscription
   * closed) does not fail unhandled.
   */
  private pageAhead(after: Position | undefined, prefixes?: readonly string[]) {
    const page = this.readPage(after, this.pageSize, prefixes, (row) => row);
    const rows = page.events;
    const events = this.codec.decodeMany
      ? this.codec.decodeMany(rows).then((decoded) => rows.map((row, i) => this.stored(row, decoded[i]!)))
      : Promise.resolve().then(() => rows.map((row) => this.toStored(row)));
    events.catch(() => undefined);
    return { ...page, events };
  }

  /** Events as stored, not decoded, after a position. */
  records(after: number, limit: number): LedgerRecord[] {
    return this.statements.records.all(after, limit);
  }

  /** Each event after a position as [position, stream, 0x00 ‖ leaf bytes in hexadecimal], made by SQLite: what verification hashes. */
  leafInputs(after: number, limit: number): Array<[number, string, string | null]> {
    return this.statements.leafInputs.all(after, limit);
  }

  subscribe(options: SubscribeOptions): Subscription {
    let closed = false;
    let appendedSinceRead = false;
    let wake: (() => void) | undefined;
    const onAppended = () => {
      appendedSinceRead = true;
      wake?.();
    };
    this.appended.on('appended', onAppended);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the generator below is a function of its own, not a method
    const store = this;
    async function* messages(): AsyncGenerator<SubscriptionMessage> {
      let after = options.after;
      try {
        // A full page means more to read: the next one is read, and its sealed data sent to be
        // opened, before this one is handed over (a catch-up folds a page while the next opens).
        let ahead: ReturnType<typeof read> | undefined;
        const read = (from: Position | undefined) => {
          appendedSinceRead = false;
          return store.pageAhead(from, options.streamPrefixes);
        };
        while (!closed && !store.closed) {
          const page = ahead ?? read(after);
          ahead = !page.end && page.scannedTo ? read(page.scannedTo) : undefined;
          for (const event of await page.events) {
            if (closed) return;
            yield { type: 'event', event };
          }
          if (page.scannedTo && (!after || page.scannedTo.commit > after.commit)) {
            after = page.scannedTo;
            if (page.end) yield { type: 'checkpoint', position: after };
          }
          if (!page.end) continue;
          yield { type: 'caught-up' };
          if (appendedSinceRead || closed) continue;
          // Committed elsewhere since the flag was last cleared: read again rather than sleep.
          if (store.wakeFlag && Atomics.exchange(store.wakeFlag, 0, 0) === 1) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, store.pollIntervalMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        store.appended.off('appended', onAppended);
      }
    }
    const iterator = messages();
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: async () => {
        closed = true;
        wake?.();
        await iterator.return(undefined);
      },
    };
  }

  /** Calls `listener` after every commit of this instance (to wake a follower in another thread). */
  onCommit(listener: () => void): () => void {
    this.appended.on('appended', listener);
    return () => this.appended.off('appended', listener);
  }

  /** Copies the write-ahead log into the database as far as readers allow, without blocking the writer. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** Wakes this instance's subscriptions now: another connection (thread, process) has committed. */
  wake(): void {
    this.appended.emit('appended');
  }

  async headPosition(): Promise<Position | undefined> {
    const head = this.statements.head.get()?.position;
    return head == null ? undefined : at(head);
  }

  async ping(): Promise<void> {
    // After a failed sync this store takes no more writes: readiness says so.
    if (this.syncFailure) throw this.syncFailure;
    this.statements.head.get();
  }

  async identity(): Promise<string> {
    return (this.db.prepare('SELECT id FROM ledger_identity').get() as { id: string }).id;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length) this.flush();
    if (this.syncing || this.unsynced.length) await new Promise<void>((resolve) => this.whenDurable(() => resolve()));
    this.appended.emit('appended');
    this.db.close();
    if (this.wal) closeSync(this.wal.fd);
    this.wal = undefined;
  }

  private toStored(row: Row): StoredEvent {
    return this.stored(row, this.codec.decode(row.stream, row.id, row.type, row.data, row.metadata));
  }

  private stored(row: Row, { data, metadata, erased }: DecodedEvent): StoredEvent {
    return {
      id: row.id,
      stream: row.stream,
      type: row.type,
      revision: BigInt(row.revision),
      position: at(row.position),
      data,
      metadata,
      ...(erased ? { erased } : {}),
      raw: { data: row.data, metadata: row.metadata },
    };
  }
}
