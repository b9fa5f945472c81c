import Database from 'better-sqlite3';
import { hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { zoneOfStream } from '../../events/streams';
import type { HashedRange } from './hashed-events';
import { PREFIXED_LEAF_SQL } from './leaf';

/*
 * A verification worker (hashed-events.ts): reads a range of positions of the embedded ledger
 * on its own read-only connection and answers each event's zone and leaf hash.
 */
const { file } = workerData as { file: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
const rows = db
  .prepare<[number, number], [number, string, Buffer]>(`SELECT position, stream, ${PREFIXED_LEAF_SQL} FROM events WHERE position > ? AND position <= ? ORDER BY position`)
  .raw(true);

parentPort!.on('message', ({ id, after, upTo }: { id: number; after: number; upTo: number }) => {
  try {
    const page = rows.all(after, upTo);
    const positions = new Float64Array(page.length);
    const hashes = new Uint8Array(page.length * 32);
    const zones: string[] = [];
    page.forEach(([position, stream, leaf], i) => {
      positions[i] = position;
      zones.push(zoneOfStream(stream));
      hashes.set(hash('sha256', leaf, 'buffer'), i * 32);
    });
    parentPort!.postMessage({ id, positions, zones, hashes } satisfies HashedRange, [positions.buffer, hashes.buffer]);
  } catch (error) {
    parentPort!.postMessage({ id, positions: new Float64Array(0), zones: [], hashes: new Uint8Array(0), error: (error as Error).message } satisfies HashedRange);
  }
});
