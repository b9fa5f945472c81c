import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { openBytes, sealBytes } from './aead';
import type { OpenAnswer, OpenRequest, SealRequest } from './cipher-thread';

/*
 * The cipher thread's worker (cipher-thread.ts). On the parent port: a page of sealed event data
 * to open, answered with the plaintexts packed in one buffer. On its own port: texts to seal,
 * answered there, then the shared flag is raised for a caller waiting on it. The data keys a
 * page or batch needs come with it and are zeroed when it is done; nothing is kept between
 * them, and nothing is logged.
 */
const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

/** The outputs of `count` items packed in one buffer, with where each ends; a failed item is empty and marked. */
function packed(count: number, each: (i: number) => Buffer) {
  const parts: Buffer[] = [];
  const ends = new Uint32Array(count);
  const failed = new Uint8Array(count);
  let size = 0;
  for (let i = 0; i < count; i++) {
    try {
      const out = each(i);
      parts.push(out);
      size += out.length;
    } catch {
      // The caller does this one again in its own thread, and fails there as it would have.
      failed[i] = 1;
    }
    ends[i] = size;
  }
  const plain = new Uint8Array(size);
  for (let i = 0, at = 0; i < parts.length; at += parts[i]!.length, i++) plain.set(parts[i]!, at);
  return { plain, ends, failed };
}

const keyAt = (keys: Uint8Array, keyOf: Uint32Array, i: number) => keys.subarray(keyOf[i]! * 32, keyOf[i]! * 32 + 32);

parentPort!.on('message', ({ id, keys, keyOf, aads, bytes, ends }: OpenRequest) => {
  const out = packed(aads.length, (i) => openBytes(keyAt(keys, keyOf, i), bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i]), aads[i]!));
  keys.fill(0);
  parentPort!.postMessage({ id, ...out } satisfies OpenAnswer, [out.plain.buffer, out.ends.buffer, out.failed.buffer]);
});

port.on('message', ({ first, keys, keyOf, texts, aads, prefixes }: SealRequest) => {
  const out = packed(texts.length, (i) => sealBytes(keyAt(keys, keyOf, i), texts[i]!, aads[i]!, Buffer.from(prefixes[i]!, 'latin1')));
  keys.fill(0);
  port.postMessage({ id: 0, first, ...out }, [out.plain.buffer, out.ends.buffer, out.failed.buffer]);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
