import { parentPort } from 'node:worker_threads';
import { openBytes } from './aead';
import type { OpenAnswer, OpenRequest } from './parallel-open';

/*
 * The opener's worker thread (parallel-open.ts): opens a page of sealed event data with the data
 * keys the page needs, sent with it, and answers the plaintexts packed in one buffer. It keeps
 * nothing between pages (the keys are zeroed when the page is done) and logs nothing.
 */
parentPort!.on('message', ({ id, keys, keyOf, aads, bytes, ends }: OpenRequest) => {
  const parts: Buffer[] = [];
  const plainEnds = new Uint32Array(aads.length);
  const failed = new Uint8Array(aads.length);
  let size = 0;
  for (let i = 0, start = 0; i < aads.length; start = ends[i]!, i++) {
    try {
      const plaintext = openBytes(keys.subarray(keyOf[i]! * 32, keyOf[i]! * 32 + 32), bytes.subarray(start, ends[i]), aads[i]!);
      parts.push(plaintext);
      size += plaintext.length;
    } catch {
      // The main thread opens this one again, in its own thread, and throws what it throws there.
      failed[i] = 1;
    }
    plainEnds[i] = size;
  }
  keys.fill(0);
  const plain = new Uint8Array(size);
  for (let i = 0, at = 0; i < parts.length; at += parts[i]!.length, i++) plain.set(parts[i]!, at);
  parentPort!.postMessage({ id, plain, ends: plainEnds, failed } satisfies OpenAnswer, [plain.buffer, plainEnds.buffer, failed.buffer]);
});
