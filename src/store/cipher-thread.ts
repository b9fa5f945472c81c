import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { sealBytes } from './aead';

/** One sealed datum to open: `iv ‖ ciphertext ‖ tag`, its data key (by id) and associated data. */
export interface SealedItem {
  readonly kid: string;
  readonly key: Uint8Array;
  readonly sealed: Uint8Array;
  readonly aad: string;
}

/** One text to seal: under `key` (by id), with `aad`, the sealed bytes written after `prefix`. */
export interface TextToSeal {
  readonly kid: string;
  readonly key: Buffer;
  readonly text: string;
  readonly aad: string;
  readonly prefix: Buffer;
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

/** The plaintexts (or sealed bytes), packed and cut at `ends`; `failed[i]` is 1 where item i did not open. */
export interface OpenAnswer {
  readonly id: number;
  readonly plain: Uint8Array;
  readonly ends: Uint32Array;
  readonly failed: Uint8Array;
}

/** Texts to seal, items `first` to `first + texts.length - 1`, packed as an OpenRequest's keys are. */
export interface SealRequest {
  readonly first: number;
  readonly keys: Uint8Array;
  readonly keyOf: Uint32Array;
  readonly texts: string[];
  readonly aads: string[];
  /** Each prefix as latin1 text (a Buffer view would be cloned with its whole pool). */
  readonly prefixes: string[];
}

/** Item `i` of bytes packed one after another and cut at `ends`. */
function piece(bytes: Buffer, ends: Uint32Array, i: number): Buffer {
  return bytes.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]);
}

/** Texts sent to the worker together: past this many, the batch goes without waiting for more. */
const SEAL_BATCH = 16;

/** Each distinct key once (32 bytes each) and, for each item, the index of its key. */
function packKeys(items: ReadonlyArray<{ kid: string; key: Uint8Array }>) {
  const index = new Map<string, number>();
  const keyOf = new Uint32Array(items.length);
  items.forEach((item, i) => {
    let k = index.get(item.kid);
    if (k === undefined) index.set(item.kid, (k = index.size));
    keyOf[i] = k;
  });
  const keys = new Uint8Array(index.size * 32);
  items.forEach((item, i) => keys.set(item.key, keyOf[i]! * 32));
  return { keys, keyOf };
}

/**
 * AES-GCM in a worker thread, for the two places where a catch-up spends a seventh of its time
 * in the cipher (7-10 µs a call on Node 20, whatever the length, and more for kilobytes here):
 *
 * - open(): a page of sealed event data, opened while the page before is folded (the codec's
 *   decodeMany). An item the worker cannot open comes back undefined, for the caller to open in
 *   its own thread and fail as it would have.
 * - sealSoon(): a view row's text handed over now, its sealed bytes taken back later, in the same
 *   transaction, while the next cases are computed. Taking them back waits (Atomics.wait on a
 *   shared flag, receiveMessageOnPort) rather than awaits: the projection runner's transaction is
 *   synchronous. If the worker is gone, or silent for `waitMs`, it is given up and the texts it
 *   held are sealed in the calling thread; dropPending() forgets texts whose transaction failed.
 *
 * The same functions (aead.ts) open and seal, with the same keys and associated data. Data keys
 * go with each page and are zeroed in the worker when it is done. The worker starts on first use,
 * holds the process open only while a page is out, and is given up (callers do the work in their
 * own thread) if it ever fails.
 */
export class CipherThread {
  /** The compiled worker beside this module (absent when the TypeScript sources run, as in jest). */
  static readonly WORKER = join(__dirname, 'cipher-worker.js');

  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private signal: Int32Array | undefined;
  private broken = false;
  /** Whether the worker's file exists, looked at once. */
  private built: boolean | undefined;
  private ids = 0;
  private readonly waiting = new Map<number, { worker: Worker; resolve: (answer: OpenAnswer) => void; reject: (error: Error) => void }>();
  /** Texts given to sealSoon(): not yet sent, sent, and sealed (taken back by their number). */
  private outbox: Array<TextToSeal & { n: number }> = [];
  private readonly sent = new Map<number, TextToSeal>();
  private readonly sealed = new Map<number, Buffer>();
  private nextSeal = 0;
  /** How many texts were sealed by the worker, and how many in the calling thread instead. */
  readonly counts = { sealedThere: 0, sealedHere: 0 };

  /** `waitMs`: how long a caller waits with no answer from the worker before giving it up and sealing itself. */
  constructor(
    private readonly file = CipherThread.WORKER,
    private readonly waitMs = 2_000,
  ) {}

  /** Whether work can go to the worker (its compiled file exists and it has not failed). */
  available(): boolean {
    this.built ??= existsSync(this.file);
    return this.built && !this.broken;
  }

  /** The plaintext of each item, in order; undefined where the worker could not open it. Rejects if the worker fails. */
  async open(items: readonly SealedItem[]): Promise<Array<Buffer | undefined>> {
    const { keys, keyOf } = packKeys(items);
    const ends = new Uint32Array(items.length);
    let size = 0;
    items.forEach((item, i) => (ends[i] = size += item.sealed.length));
    const bytes = new Uint8Array(size);
    items.forEach((item, i) => bytes.set(item.sealed, i === 0 ? 0 : ends[i - 1]!));
    const request = { id: ++this.ids, keys, keyOf, aads: items.map((item) => item.aad), bytes, ends };
    const worker = this.started();
    const answer = await new Promise<OpenAnswer>((resolve, reject) => {
      this.waiting.set(request.id, { worker, resolve, reject });
      this.holdOpen();
      worker.postMessage(request, [keys.buffer, bytes.buffer, ends.buffer, keyOf.buffer]);
    });
    const plain = Buffer.from(answer.plain.buffer, answer.plain.byteOffset, answer.plain.byteLength);
    return items.map((_, i) => (answer.failed[i] ? undefined : piece(plain, answer.ends, i)));
  }

  /** Hands a text over to be sealed; the function returned gives its sealed bytes (`prefix ‖ iv ‖ ciphertext ‖ tag`), waiting if need be. */
  sealSoon(item: TextToSeal): () => Buffer {
    const n = this.nextSeal++;
    this.outbox.push({ ...item, n });
    if (this.outbox.length >= SEAL_BATCH) this.send();
    return () => this.takeSealed(n, item);
  }

  /**
   * Forgets every text handed to sealSoon() and not taken back, and their keys (the transaction
   * they were for rolled back); answers still to come for them are dropped.
   */
  dropPending(): void {
    this.outbox = [];
    this.sent.clear();
    this.sealed.clear();
  }

  /** Texts handed over and not taken back (a test's view). */
  pending(): number {
    return this.outbox.length + this.sent.size + this.sealed.size;
  }

  async close(): Promise<void> {
    await this.detach(false)?.terminate();
  }

  /** Lets go of the worker, its port and its flag (and, if `broken`, of ever starting another); returns the worker let go. */
  private detach(broken: boolean): Worker | undefined {
    const worker = this.worker;
    if (broken) this.broken = true;
    this.worker = undefined;
    this.port?.close();
    this.port = undefined;
    this.signal = undefined;
    return worker;
  }

  private send(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length === 0) return;
    if (!this.available()) {
      for (const item of batch) this.sealed.set(item.n, this.sealHere(item));
      return;
    }
    this.started();
    for (const item of batch) this.sent.set(item.n, item);
    const { keys, keyOf } = packKeys(batch);
    const request: SealRequest = {
      first: batch[0]!.n,
      keys,
      keyOf,
      texts: batch.map((i) => i.text),
      aads: batch.map((i) => i.aad),
      prefixes: batch.map((i) => i.prefix.toString('latin1')),
    };
    this.port!.postMessage(request, [keys.buffer, keyOf.buffer]);
  }

  private takeSealed(n: number, item: TextToSeal): Buffer {
    if (this.outbox.some((i) => i.n === n)) this.send();
    let waitedSince = Date.now();
    for (;;) {
      const done = this.sealed.get(n);
      if (done) {
        this.sealed.delete(n);
        return done;
      }
      if (!this.sent.has(n) || !this.port || !this.signal) {
        // Dropped, or the worker failed or was closed with this text in it: sealed here.
        this.sent.delete(n);
        return this.sealHere(item);
      }
      const seen = Atomics.load(this.signal, 0);
      const message = receiveMessageOnPort(this.port);
      if (message) {
        this.receiveSealed(message.message as OpenAnswer & { first: number });
        waitedSince = Date.now();
      } else if (Date.now() - waitedSince > this.waitMs) {
        // No answer for that long: the worker is dead or stuck, and its 'error' and 'exit' events
        // cannot reach a thread that waits synchronously. Given up, once, for every text it holds.
        this.giveUp();
      } else {
        Atomics.wait(this.signal, 0, seen, 50);
      }
    }
  }

  private sealHere(item: TextToSeal): Buffer {
    this.counts.sealedHere += 1;
    return sealBytes(item.key, item.text, item.aad, item.prefix);
  }

  private receiveSealed(answer: OpenAnswer & { first: number }): void {
    const bytes = Buffer.from(answer.plain.buffer, answer.plain.byteOffset, answer.plain.byteLength);
    for (let i = 0; i < answer.ends.length; i++) {
      const n = answer.first + i;
      // A seal nobody takes back any more (dropped) is let go; one that failed there is left
      // out, and sealed in the caller's thread.
      if (!this.sent.delete(n) || answer.failed[i]) continue;
      this.counts.sealedThere += 1;
      this.sealed.set(n, piece(bytes, answer.ends, i));
    }
  }

  private giveUp(): void {
    void this.detach(true)?.terminate();
  }

  /** The worker keeps the process alive only while opens are awaited (sealSoon's callers wait synchronously). */
  private holdOpen(): void {
    if (this.waiting.size === 1) this.worker?.ref();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(this.file, { workerData: { port: port2, signal }, transferList: [port2] });
    worker.unref();
    worker.on('message', (answer: OpenAnswer) => {
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(answer);
    });
    const fail = (error: Error) => {
      // Stopped by close() it is not broken; stopped any other way it is not tried again.
      if (this.worker === worker) this.detach(true);
      for (const [id, waiter] of this.waiting) {
        if (waiter.worker !== worker) continue;
        this.waiting.delete(id);
        waiter.reject(error);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the cipher worker stopped (exit code ${code})`)));
    this.worker = worker;
    this.port = port1;
    this.signal = signal;
    return worker;
  }
}
