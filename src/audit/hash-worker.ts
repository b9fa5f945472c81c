import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { zoneOfStream } from '../../events/streams';
import { failedRange, type HashedRange } from './hashed-events';
import { LEAF_CHUNK_SQL, leafChunk, type LeafChunkRow, leafFromHex, PREFIXED_LEAF_HEX_SQL } from './leaf';
import { HASH_SIZE, sha256Into } from './merkle';
import { LEAVES_BETWEEN_HEX_SQL } from './zone-logs';

/*
 * A verification worker (hashed-events.ts): reads a range of positions of the embedded ledger
 * on its own read-only connection and answers each event's zone and leaf hash, and the log's
 * leaves of the same positions (kept in the same file) with the hashes they stored. Events are
 * read a thousand in one row (LEAF_CHUNK_SQL; a row each where that row cannot be used, which
 * then says why), stored hashes as hexadecimal text, and hashes are written straight into the
 * arrays sent back: no Buffer is made per event (leaf.ts says what one costs).
 */
const { file } = workerData as { file: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
const chunk = db.prepare<[number, number], LeafChunkRow>(LEAF_CHUNK_SQL);
const rows = db
  .prepare<[number, number], [number, string, string | null]>(
    `SELECT position, stream, ${PREFIXED_LEAF_HEX_SQL} FROM events WHERE position > ? AND position <= ? ORDER BY position`,
  )
  .raw(true);
const leafRows = db.prepare<[number, number, number], [number, string, number, string]>(LEAVES_BETWEEN_HEX_SQL).raw(true);
const CHUNK = 1_000;
/** Arrays to write into, on a memory of their own that is handed over (not Node's pool). */
const bytes = (length: number) => Buffer.from(new ArrayBuffer(length));

/** The events in (from, to] read in one row, or false: then they are read a row each, which reports what is wrong (a row larger than SQLite's limit included). */
function chunkRead(from: number, to: number, each: Parameters<typeof leafChunk>[3]): boolean {
  let row: LeafChunkRow;
  try {
    row = chunk.get(from, to)!;
  } catch {
    return false;
  }
  return leafChunk(row, from, to, each);
}

/** A range's events hashed and its leaves, read in one read transaction: one snapshot of the file for both. */
const readRange = db.transaction((id: number, after: number, upTo: number): HashedRange => {
  // Positions are row ids: a range of n positions holds at most n events, and n leaves.
  const most = upTo - after;
  let positions = new Float64Array(most);
  let hashes = bytes(most * HASH_SIZE);
  const zones: string[] = [];
  const hashed = (position: number, stream: string, prefixedLeaf: Buffer) => {
    positions[zones.length] = position;
    sha256Into(prefixedLeaf, hashes, zones.length * HASH_SIZE);
    zones.push(zoneOfStream(stream));
  };
  // A thousand events at a time: a whole range's leaves as text (about 6 MB) outgrew a new
  // thread's young generation and made its first walk half as fast again.
  for (let from = after; from < upTo; from += CHUNK) {
    const to = Math.min(from + CHUNK, upTo);
    if (chunkRead(from, to, hashed)) continue;
    for (const [position, stream, leaf] of rows.all(from, to)) hashed(position, stream, leafFromHex(leaf, position));
  }
  if (zones.length < most) {
    positions = positions.slice(0, zones.length);
    hashes = Buffer.from(hashes.buffer.slice(0, zones.length * HASH_SIZE));
  }
  const leaves = leafRows.all(after, upTo, most);
  const leafPositions = new Float64Array(leaves.length);
  const leafIndexes = new Float64Array(leaves.length);
  const leafHashes = bytes(leaves.length * HASH_SIZE);
  const leafHashed = new Uint8Array(leaves.length);
  const leafZones: string[] = [];
  leaves.forEach(([position, zone, index, stored], i) => {
    leafPositions[i] = position;
    leafIndexes[i] = index;
    leafZones.push(zone);
    // A stored value that is not a 32-byte blob comes as '': no hash.
    if (stored.length === 2 * HASH_SIZE) {
      leafHashes.write(stored, i * HASH_SIZE, HASH_SIZE, 'hex');
      leafHashed[i] = 1;
    }
  });
  return { id, positions, zones, hashes, leafPositions, leafZones, leafIndexes, leafHashes, leafHashed };
});

parentPort!.on('message', ({ id, after, upTo }: { id: number; after: number; upTo: number }) => {
  try {
    const range = readRange(id, after, upTo);
    // Every array is on an ArrayBuffer of its own (bytes(), typed arrays, slices): handed over, not copied.
    const arrays = [range.positions, range.hashes, range.leafPositions, range.leafIndexes, range.leafHashes, range.leafHashed];
    parentPort!.postMessage(
      range,
      arrays.map((array) => array.buffer as ArrayBuffer),
    );
  } catch (error) {
    parentPort!.postMessage(failedRange(id, (error as Error).message));
  }
});
