import Database from 'better-sqlite3';
import { hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { zoneOfStream } from '../../events/streams';
import { failedRange, type HashedRange } from './hashed-events';
import { PREFIXED_LEAF_SQL } from './leaf';
import { LEAVES_BETWEEN_SQL } from './zone-logs';

/*
 * A verification worker (hashed-events.ts): reads a range of positions of the embedded ledger
 * on its own read-only connection and answers each event's zone and leaf hash, and the log's
 * leaves of the same positions (kept in the same file) with the hashes they stored.
 */
const { file } = workerData as { file: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
const rows = db
  .prepare<[number, number], [number, string, Buffer]>(`SELECT position, stream, ${PREFIXED_LEAF_SQL} FROM events WHERE position > ? AND position <= ? ORDER BY position`)
  .raw(true);
const leafRows = db.prepare<[number, number, number], [number, string, number, Buffer | null]>(LEAVES_BETWEEN_SQL).raw(true);

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
    // Positions are row ids: a range of n positions holds at most n leaves.
    const leaves = leafRows.all(after, upTo, upTo - after);
    const leafPositions = new Float64Array(leaves.length);
    const leafIndexes = new Float64Array(leaves.length);
    const leafHashes = new Uint8Array(leaves.length * 32);
    const leafHashed = new Uint8Array(leaves.length);
    const leafZones: string[] = [];
    leaves.forEach(([position, zone, index, stored], i) => {
      leafPositions[i] = position;
      leafIndexes[i] = index;
      leafZones.push(zone);
      if (stored && stored.length === 32) {
        leafHashes.set(stored, i * 32);
        leafHashed[i] = 1;
      }
    });
    parentPort!.postMessage({ id, positions, zones, hashes, leafPositions, leafZones, leafIndexes, leafHashes, leafHashed } satisfies HashedRange, [
      positions.buffer,
      hashes.buffer,
      leafPositions.buffer,
      leafIndexes.buffer,
      leafHashes.buffer,
      leafHashed.buffer,
    ]);
  } catch (error) {
    parentPort!.postMessage(failedRange(id, (error as Error).message));
  }
});
