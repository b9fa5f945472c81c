import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** One sealed datum to open: `iv ‖ ciphertext ‖ tag`, its data key (by id) and associated data. */
export interface SealedItem {
  readonly kid: string;
  readonly key: Uint8Array;
  readonly sealed: Uint8Array;
  readonly aad: string;
}

/** A page sent to the worker: the items packed (`bytes`, cut at `ends`), and each distinct key once. */
export interface OpenRequest {
  readonly id: number;
  /** 32 bytes a key; item i uses the key at `keyOf[i]`. */
  readonly keys: Uint8Array;
  readonly keyOf: Uint32Array;
  readonly aads: string[];
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

/** The plaintexts, packed and cut at `ends`; `failed[i]` is 1 where item i did not open. */
export interface OpenAnswer {
  readonly id: number;
  readonly plain: Uint8Array;
  readonly ends: Uint32Array;
  readonly failed: Uint8Array;
}

/**
 * Opens pages of sealed event data in a worker thread, so that a catch-up (a rebuild, a start
 * after a long stop) reads and folds one page while the next is being decrypted on the other
 * core: AES-GCM costs 7-10 µs a call on Node 20 whatever the length, a seventh of a rebuild's
 * work per event. The same function (aead.ts openBytes) opens, with the same keys and associated
 * data; an item the worker cannot open comes back undefined, for the caller to open in its own
 * thread and fail as it would have. The worker is started on first use, holds the process open
 * only while a page is out, and is given up (callers open in their own thread) if it ever fails.
 */
export class ParallelOpener {
  /** The compiled worker beside this module (absent when the TypeScript sources run, as in jest). */
  static readonly WORKER = join(__dirname, 'open-worker.js');

  private worker: Worker | undefined;
  private broken = false;
  private ids = 0;
  private readonly waiting = new Map<number, { resolve: (answer: OpenAnswer) => void; reject: (error: Error) => void }>();

  constructor(private readonly file = ParallelOpener.WORKER) {}

  /** Whether pages can be opened in the worker (its compiled file exists and it has not failed). */
  available(): boolean {
    return !this.broken && existsSync(this.file);
  }

  /** The plaintext of each item, in order; undefined where the worker could not open it. Rejects if the worker fails. */
  async open(items: readonly SealedItem[]): Promise<Array<Buffer | undefined>> {
    const keyIndex = new Map<string, number>();
    const keyOf = new Uint32Array(items.length);
    const ends = new Uint32Array(items.length);
    let size = 0;
    items.forEach((item, i) => {
      let k = keyIndex.get(item.kid);
      if (k === undefined) keyIndex.set(item.kid, (k = keyIndex.size));
      keyOf[i] = k;
      size += item.sealed.length;
      ends[i] = size;
    });
    const keys = new Uint8Array(keyIndex.size * 32);
    const bytes = new Uint8Array(size);
    items.forEach((item, i) => {
      keys.set(item.key, keyOf[i]! * 32);
      bytes.set(item.sealed, i === 0 ? 0 : ends[i - 1]!);
    });
    const request = { id: ++this.ids, keys, keyOf, aads: items.map((item) => item.aad), bytes, ends };
    const answer = await this.ask(request, [keys.buffer, bytes.buffer, ends.buffer, keyOf.buffer]);
    const plain = Buffer.from(answer.plain.buffer, answer.plain.byteOffset, answer.plain.byteLength);
    return items.map((_, i) => (answer.failed[i] ? undefined : plain.subarray(i === 0 ? 0 : answer.ends[i - 1]!, answer.ends[i])));
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private ask(request: OpenRequest, transfer: ArrayBuffer[]): Promise<OpenAnswer> {
    const worker = this.started();
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject });
      // Held open while a page is out: an awaited answer must not let the process exit under it.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage(request, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.file);
    worker.unref();
    worker.on('message', (answer: OpenAnswer) => {
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(answer);
    });
    const fail = (error: Error) => {
      // Stopped by close() it is not broken; stopped any other way it is not tried again.
      if (this.worker === worker) {
        this.broken = true;
        this.worker = undefined;
      }
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the opener's worker stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
