import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { zoneOfStream } from '../../events/streams';
import { leafFromHex } from './leaf';
import { sha256 } from './merkle';
import { columnsOf, type HashedEvent, type HashedPage, type VerifyInput } from './verify-ledger';
import type { LogLeaf } from './zone-logs';

/** Rows of the embedded store: [position, stream, 0x00 ‖ leaf bytes in hexadecimal] (SqliteEventStore.leafInputs). */
export type LeafInputs = (after: number, limit: number) => Array<[number, string, string | null]>;

/** The log's leaves of the positions in (after, upTo], at most `limit` (ZoneLogs.leavesBetween). */
export type LeavesBetween = (after: number, upTo: number, limit: number) => LogLeaf[];

/**
 * A page from a source that reads events by count: the events after `after` (at most `limit`;
 * `full` when there may be more) and the log's leaves of the same positions. Both are whole up
 * to `upTo`: the last event read when that page is full, the last leaf when the leaves are, the
 * head otherwise.
 */
export function pageOf(events: readonly HashedEvent[], full: boolean, leavesBetween: LeavesBetween, after: number, limit: number, head: number): HashedPage {
  let upTo = full && events.length > 0 ? Math.min(head, events[events.length - 1]!.position) : head;
  const leaves = leavesBetween(after, upTo, limit);
  if (leaves.length === limit) upTo = Math.min(upTo, leaves[leaves.length - 1]!.position);
  return columnsOf(
    events.filter((e) => e.position <= upTo),
    leaves.filter((l) => l.position <= upTo),
    upTo,
  );
}

/** Hashes pages of events in this thread, `limit` rows at a time. */
export function hashedInThread(leafInputs: LeafInputs, leavesBetween: LeavesBetween): VerifyInput['events'] {
  return (after, limit, head) => {
    const rows = leafInputs(after, limit);
    const events = rows.map(([position, stream, leaf]) => ({ position, zone: zoneOfStream(stream), hash: sha256(leafFromHex(leaf, position)) }));
    return pageOf(events, rows.length === limit, leavesBetween, after, limit, head);
  };
}

/** What the hash worker answers for a range of positions: its events hashed, and the log's leaves of the same positions. */
export interface HashedRange {
  readonly id: number;
  readonly positions: Float64Array;
  readonly zones: string[];
  readonly hashes: Uint8Array;
  readonly leafPositions: Float64Array;
  readonly leafZones: string[];
  readonly leafIndexes: Float64Array;
  /** 32 bytes a leaf; a leaf that holds no hash has 32 zero bytes and 0 in `leafHashed`. */
  readonly leafHashes: Uint8Array;
  readonly leafHashed: Uint8Array;
  readonly error?: string;
}

/** The answer for a range that was not read: the error, and nothing else. */
export function failedRange(id: number, error: string): HashedRange {
  const none = new Float64Array(0);
  const noBytes = new Uint8Array(0);
  return { id, positions: none, zones: [], hashes: noBytes, leafPositions: none, leafZones: [], leafIndexes: none, leafHashes: noBytes, leafHashed: noBytes, error };
}

/**
 * Reading the rows and hashing them is most of verification: here worker threads do it, each
 * with its own read-only connection, on ranges of positions ahead of the walk, and read the
 * log's leaves of the same positions, so the main thread only compares and builds the trees.
 * Embedded positions are dense (row ids), so a range of `limit` positions is a page of at most
 * `limit` events. Where the compiled worker is not there (tests run the TypeScript sources), it
 * falls back to hashing in this thread.
 */
export class ParallelHashedEvents {
  private readonly workers: Worker[] = [];
  private next = 0;
  private ids = 0;
  private readonly waiting = new Map<number, (range: HashedRange) => void>();
  /** Why a thread of the pool stopped, if one did: the pool then answers nothing but that. */
  stopped: string | undefined;
  private closing = false;
  /** Pages asked for ahead, by their `after`. */
  private readonly ahead = new Map<number, Promise<HashedRange>>();

  /** The compiled worker beside this module (absent when the TypeScript sources run). */
  static readonly WORKER = join(__dirname, 'hash-worker.js');

  static available(): boolean {
    return existsSync(ParallelHashedEvents.WORKER);
  }

  constructor(
    file: string,
    threads: number,
    private readonly depth = 4,
    worker = ParallelHashedEvents.WORKER,
  ) {
    for (let i = 0; i < threads; i++) {
      const thread = new Worker(worker, { workerData: { file } });
      // Idle threads do not hold the process open (a kept pool); threads with ranges out do.
      thread.unref();
      thread.on('message', (range: HashedRange) => {
        this.waiting.get(range.id)?.(range);
        this.waiting.delete(range.id);
        if (this.waiting.size === 0) for (const w of this.workers) w.unref();
      });
      // A thread that stops fails what was asked of the pool, and the pool is not used again.
      const stopped = (why: string) => {
        if (this.closing) return;
        this.stopped = why;
        for (const [id, resolve] of this.waiting) resolve(failedRange(id, why));
        this.waiting.clear();
      };
      thread.on('error', (error) => stopped(error.message));
      thread.on('exit', (code) => stopped(`a hash worker stopped (exit code ${code})`));
      this.workers.push(thread);
    }
  }

  readonly events: VerifyInput['events'] = async (after, limit, head) => {
    let range = this.ahead.get(after);
    if (!range) {
      // The walk went somewhere else than foreseen (a tampered ledger): forget what was asked ahead.
      this.ahead.clear();
      range = this.ask(after, Math.min(after + limit, head));
    }
    this.ahead.delete(after);
    for (let k = 1, from = after + limit; k <= this.depth && from < head; k++, from += limit) {
      if (!this.ahead.has(from)) this.ahead.set(from, this.ask(from, Math.min(from + limit, head)));
    }
    const answer = await range;
    if (answer.error) throw new Error(`verification could not read the ledger: ${answer.error}`);
    return {
      events: { positions: answer.positions, zones: answer.zones, hashes: answer.hashes },
      leaves: { positions: answer.leafPositions, zones: answer.leafZones, indexes: answer.leafIndexes, hashes: answer.leafHashes, hashed: answer.leafHashed },
      upTo: Math.min(after + limit, head),
    } satisfies HashedPage;
  };

  /** A new walk begins: what was asked ahead for another one (whose head may differ) is not used. */
  newWalk(): void {
    this.ahead.clear();
  }

  private ask(after: number, upTo: number): Promise<HashedRange> {
    const id = ++this.ids;
    if (this.stopped) return Promise.resolve(failedRange(id, this.stopped));
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve) => {
      if (this.waiting.size === 0) for (const w of this.workers) w.ref();
      this.waiting.set(id, resolve);
      worker.postMessage({ id, after, upTo });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
