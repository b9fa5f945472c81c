import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  comparePositions,
  type EventStore,
  FatalStoreError,
  formatPosition,
  parsePosition,
  type Position,
  STREAM_PREFIXES,
  type StoredEvent,
  type Subscription,
} from '../../events';
import { type LedgerRecord, ZoneLogs } from './zone-logs';

/**
 * The zones' Merkle logs for a store that keeps none itself (EventStoreDB): a follower of the
 * ledger's streams in `$all` appends each event's leaf, in the order of `$all`, to logs in a
 * file of its own (DATA_DIR/audit/merkle.db). The leaf is made from the bytes the store returns,
 * which for the binary events the adapter writes are the bytes written. Ledger positions here
 * are ordinals (the event's place in the ledger, from 1), kept beside the store's own position,
 * so proofs, listings and verification speak of the same numbers in both modes.
 *
 * What this cannot do that the embedded store does: an event written to EventStoreDB around the
 * service is adopted as it arrives (access to the server is the guard: docs/OPERATIONS.md);
 * changes after that, deletions, and rewritten history are found as in the embedded mode.
 */
export class AuditFollower {
  readonly logs: ZoneLogs;
  private readonly db: Database.Database;
  private readonly s;
  private subscription: Subscription | undefined;
  private running: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private last: { ordinal: number; position: Position } | undefined;
  private failed: unknown;
  private waiters: Array<() => void> = [];

  constructor(
    file: string,
    private readonly store: EventStore,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Before anything that may wait for the write lock (the log's tables made or moved), as the CLI may hold it.
    this.db.pragma('busy_timeout = 5000');
    this.logs = new ZoneLogs(this.db);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS followed (ordinal INTEGER PRIMARY KEY, position TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS followed_store (identity TEXT NOT NULL);
    `);
    this.s = {
      last: this.db.prepare<[], { ordinal: number; position: string }>('SELECT ordinal, position FROM followed ORDER BY ordinal DESC LIMIT 1'),
      put: this.db.prepare<[number, string]>('INSERT INTO followed (ordinal, position) VALUES (?, ?)'),
      positionOf: this.db.prepare<[number], { position: string }>('SELECT position FROM followed WHERE ordinal = ?'),
      ordinalOf: this.db.prepare<[string], { ordinal: number }>('SELECT ordinal FROM followed WHERE position = ?'),
      identity: this.db.prepare<[], { identity: string }>('SELECT identity FROM followed_store'),
      setIdentity: this.db.prepare<[string]>('INSERT INTO followed_store (identity) VALUES (?)'),
    };
    this.last = this.readLast();
  }

  /** Follows the store from where the log stops (once; later calls wait for the first). Refuses a log made from another store. */
  start(): Promise<void> {
    this.starting ??= this.begin();
    return this.starting;
  }

  private async begin(): Promise<void> {
    const identity = await this.store.identity();
    const known = this.s.identity.get()?.identity;
    if (known === undefined) this.s.setIdentity.run(identity);
    else if (known !== identity) throw new FatalStoreError(`the audit log in this data folder was made from another ledger (${known}, not ${identity})`);
    this.running ??= this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    await this.subscription?.close();
    await this.running;
    this.db.close();
  }

  /** Resolves once every event now in the store has its leaf. */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const head = await this.store.headPosition();
    const reached = () => this.failed !== undefined || head === undefined || (this.last !== undefined && comparePositions(this.last.position, head) >= 0);
    const deadline = Date.now() + timeoutMs;
    while (!reached()) {
      if (Date.now() > deadline) throw new Error('the audit log is catching up with the ledger; try again');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    if (this.failed !== undefined) throw this.failed instanceof Error ? this.failed : new Error('the audit log follower failed', { cause: this.failed });
  }

  /** The last ordinal in the log (0 when empty). */
  head(): number {
    return this.last?.ordinal ?? 0;
  }

  /** The store position of an ordinal, to read after it. */
  positionOf(ordinal: number): Position | undefined {
    const row = ordinal > 0 ? this.s.positionOf.get(ordinal) : undefined;
    return row && parsePosition(row.position);
  }

  ordinalOf(position: Position): number | undefined {
    return this.s.ordinalOf.get(formatPosition(position))?.ordinal;
  }

  /**
   * The events as the store holds them now, after an ordinal, each at its ordinal. An event the
   * log never saw gets the ordinal before it plus ½: verification reports it as not in the log.
   */
  async records(after: number, limit: number): Promise<LedgerRecord[]> {
    const from = this.positionOf(after);
    if (after > 0 && !from) return [];
    const events = await this.store.readRaw({ ...(from ? { after: from } : {}), maxCount: limit, streamPrefixes: Object.values(STREAM_PREFIXES) });
    let previous = after;
    return events.map((event) => {
      const ordinal = this.ordinalOf(event.position);
      const position = ordinal ?? previous + 0.5;
      if (ordinal !== undefined) previous = ordinal;
      return { position, stream: event.stream, revision: event.revision, id: event.id, type: event.type, data: event.raw.data, metadata: event.raw.metadata };
    });
  }

  private async follow(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      this.subscription = this.store.subscribe({ after: this.last?.position, streamPrefixes: Object.values(STREAM_PREFIXES) });
      try {
        let batch: StoredEvent[] = [];
        for await (const message of this.subscription) {
          if (message.type === 'event') batch.push(message.event);
          if (message.type !== 'event' || batch.length >= 500) {
            this.apply(batch);
            batch = [];
          }
        }
        this.apply(batch);
        backoff = 100;
      } catch (error) {
        if (this.stopped) return;
        this.onError(error);
        if (error instanceof FatalStoreError) {
          this.failed = error;
          return;
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private apply(events: readonly StoredEvent[]): void {
    if (events.length > 0) {
      try {
        // Another process (the CLI) may follow into the same file: take the lock, then read where the log stops.
        this.db
          .transaction(() => {
            this.logs.forget();
            let last = this.readLast();
            for (const event of events) {
              if (last && comparePositions(event.position, last.position) <= 0) continue;
              const ordinal = (last?.ordinal ?? 0) + 1;
              this.s.put.run(ordinal, formatPosition(event.position));
              this.logs.append(ordinal, { stream: event.stream, revision: event.revision, id: event.id, type: event.type, data: event.raw.data, metadata: event.raw.metadata });
              last = { ordinal, position: event.position };
            }
            this.last = last;
          })
          .immediate();
      } catch (error) {
        this.logs.rolledBack();
        this.last = this.readLast();
        throw error;
      }
    }
    this.wake();
  }

  private readLast(): { ordinal: number; position: Position } | undefined {
    const last = this.s.last.get();
    return last && { ordinal: last.ordinal, position: parsePosition(last.position) };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
