import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { zoneOfStream } from '../../events/streams';
import type { HashedEvent, HashedPage, VerifyInput } from './verify-ledger';

const sha256 = (bytes: Uint8Array) => hash('sha256', bytes, 'buffer');

/** Rows of the embedded store: [position, stream, 0x00 ‖ leaf bytes] (SqliteEventStore.leafInputs). */
export type LeafInputs = (after: number, limit: number) => Array<[number, string, Buffer]>;

/** Hashes pages of events in this thread, `limit` rows at a time. */
export function hashedInThread(leafInputs: LeafInputs): VerifyInput['events'] {
  return (after, limit, head) => {
    const rows = leafInputs(after, limit);
    const events = rows.filter((r) => r[0] <= head).map(([position, stream, leaf]) => ({ position, zone: zoneOfStream(stream), hash: sha256(leaf) }));
    return { events, upTo: rows.length === limit ? rows[rows.length - 1]![0] : head };
  };
}

/** What the hash worker answers for a range of positions. */
export interface HashedRange {
  readonly id: number;
  readonly positions: Float64Array;
  readonly zones: string[];
  readonly hashes: Uint8Array;
  readonly error?: string;
}

/**
 * Reading the rows and hashing them is most of verification: here worker threads do it, each
 * with its own read-only connection, on ranges of positions ahead of the walk, so the main
 * thread only compares and builds the trees. Embedded positions are dense (row ids), so a range
 * of `limit` positions is a page of at most `limit` events. Where the compiled worker is not
 * there (tests run the TypeScript sources), it falls back to hashing in this thread.
 */
export class ParallelHashedEvents {
  private readonly workers: Worker[] = [];
  private next = 0;
  private ids = 0;
  private readonly waiting = new Map<number, (range: HashedRange) => void>();
  /** Pages asked for ahead, by their `after`. */
  private readonly ahead = new Map<number, Promise<HashedRange>>();

  static available(): boolean {
    return existsSync(join(__dirname, 'hash-worker.js'));
  }

  constructor(
    file: string,
    threads: number,
    private readonly depth = 4,
  ) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(join(__dirname, 'hash-worker.js'), { workerData: { file } });
      worker.on('message', (range: HashedRange) => {
        this.waiting.get(range.id)?.(range);
        this.waiting.delete(range.id);
      });
      this.workers.push(worker);
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
    const events: HashedEvent[] = [];
    for (let i = 0; i < answer.positions.length; i++) {
      events.push({ position: answer.positions[i]!, zone: answer.zones[i]!, hash: Buffer.from(answer.hashes.buffer, answer.hashes.byteOffset + i * 32, 32) });
    }
    return { events, upTo: Math.min(after + limit, head) } satisfies HashedPage;
  };

  private ask(after: number, upTo: number): Promise<HashedRange> {
    const id = ++this.ids;
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, after, upTo });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
