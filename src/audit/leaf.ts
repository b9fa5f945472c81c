/*
 * The bytes of a Merkle leaf (README "Auditors: the leaf"). A leaf covers one event exactly as
 * the store keeps it: stream, revision, id, type, then the metadata and data bytes as written
 * (sealed data is hashed sealed, so the log covers ciphertext and an erasure, which destroys
 * keys and rewrites nothing, leaves every leaf as it was). Each field is length-prefixed so no
 * two events can serialise to the same bytes, and a version tag opens the whole so that a later
 * format can never be confused with this one. Depends on nothing but Buffer: auditors reuse it.
 *
 *   "EL1" ‖ u32be(len) stream ‖ u32be(len) revision as decimal ‖ u32be(len) id ‖
 *   u32be(len) type ‖ u32be(len) metadata ‖ u32be(len) data          (strings in UTF-8)
 */

export const LEAF_FORMAT = Buffer.from('EL1', 'ascii');

export interface LeafInput {
  readonly stream: string;
  readonly revision: number | bigint;
  readonly id: string;
  readonly type: string;
  readonly metadata: Uint8Array;
  readonly data: Uint8Array;
}

let scratch = Buffer.alloc(64 * 1024);

/**
 * The leaf bytes of an event. The result is a view into a buffer reused by the next call
 * (verification serialises a million events): hash it or copy it before calling again.
 */
export function leafBytes(event: LeafInput): Buffer {
  return prefixedLeafBytes(event).subarray(1);
}

/**
 * 0x00 ‖ leaf bytes: what the leaf hash is the SHA-256 of (RFC 6962 §2.1), written in one
 * buffer so that hashing a leaf needs no copy. The same reused buffer as leafBytes.
 */
export function prefixedLeafBytes(event: LeafInput): Buffer {
  const revision = String(event.revision);
  const size =
    1 +
    LEAF_FORMAT.length +
    24 +
    Buffer.byteLength(event.stream) +
    revision.length +
    Buffer.byteLength(event.id) +
    Buffer.byteLength(event.type) +
    event.metadata.length +
    event.data.length;
  if (size > scratch.length) scratch = Buffer.alloc(Math.max(size, scratch.length * 2));
  scratch[0] = 0x00;
  let at = 1 + LEAF_FORMAT.copy(scratch, 1);
  at = text(event.stream, at);
  at = text(revision, at);
  at = text(event.id, at);
  at = text(event.type, at);
  at = bytes(event.metadata, at);
  at = bytes(event.data, at);
  return scratch.subarray(0, at);
}

function text(value: string, at: number): number {
  const n = scratch.write(value, at + 4, 'utf8');
  scratch.writeUInt32BE(n, at);
  return at + 4 + n;
}

function bytes(value: Uint8Array, at: number): number {
  scratch.writeUInt32BE(value.length, at);
  scratch.set(value, at + 4);
  return at + 4 + value.length;
}

/**
 * The same 0x00 ‖ leaf bytes, made by SQLite from a row of the embedded store's `events` table
 * (stream, revision, id, type, metadata, data), for verification to hash without building the
 * row in JavaScript. A test holds it to prefixedLeafBytes on every row it writes. Lengths are of
 * the UTF-8 bytes (`hex()` of a TEXT value encodes its UTF-8 bytes), big-endian on four bytes.
 *
 * It is hexadecimal text, not a blob: better-sqlite3 hands every blob to JavaScript as a Buffer
 * of its own, allocated natively, which cost 1.5–4 µs a row on the 2-vCPU machine, where a string
 * costs a fraction of a microsecond; verification writes the text into one reused buffer
 * (leafFromHex) and hashes it there. Reading and hashing a leaf went from 8.6 to 5.1 µs.
 */
export const PREFIXED_LEAF_HEX_SQL = `CASE WHEN stream IS NULL OR revision IS NULL OR id IS NULL OR type IS NULL OR metadata IS NULL OR data IS NULL THEN NULL
  ELSE printf('00454C31%08X%s%08X%s%08X%s%08X%s%08X%s%08X%s',
    length(CAST(stream AS BLOB)), hex(stream),
    length(CAST(CAST(revision AS TEXT) AS BLOB)), hex(CAST(revision AS TEXT)),
    length(CAST(id AS BLOB)), hex(id),
    length(CAST(type AS BLOB)), hex(type),
    length(metadata), hex(metadata),
    length(data), hex(data)) END`;

/**
 * The bytes of PREFIXED_LEAF_HEX_SQL's text, in the buffer leafBytes reuses (hash them or copy
 * them before the next call). A row with a NULL field has no leaf bytes (printf and hex() would
 * read NULL as empty, and the table forbids it): the events table was rebuilt by hand.
 */
export function leafFromHex(hex: string | null, position: number): Buffer {
  if (hex === null) throw new Error(`the event at position ${position} has a NULL field, which the events table forbids: the table was altered`);
  const size = hex.length >>> 1;
  if (size > scratch.length) scratch = Buffer.alloc(Math.max(size, scratch.length * 2));
  return scratch.subarray(0, scratch.write(hex, 0, size, 'hex'));
}

/**
 * The events at positions in (?, ?] in one row, for verification: how many there are, how many
 * have a NULL field, each event's position and the UTF-8 lengths of its six fields as 64
 * hexadecimal digits (`fields`), and the fields' bytes end to end (`bytes`). leafChunk makes the
 * 0x00 ‖ leaf bytes of each event from them. One row for a thousand events costs SQLite and
 * better-sqlite3 far less than a row each: the prefixed-leaf text of PREFIXED_LEAF_HEX_SQL took
 * about 3 µs an event to format in SQLite, and a string and its decoding more in JavaScript;
 * these bytes take about 1.5 µs (docs/BENCHMARKS.md, seventh session). Both aggregates read the
 * rows in the same order; leafChunk checks the positions rather than trust that order.
 */
export const LEAF_CHUNK_SQL = `SELECT count(*) AS count,
  total(stream IS NULL OR revision IS NULL OR id IS NULL OR type IS NULL OR metadata IS NULL OR data IS NULL) AS nulls,
  group_concat(printf('%016X%08X%08X%08X%08X%08X%08X', position,
    length(CAST(stream AS BLOB)), length(CAST(CAST(revision AS TEXT) AS BLOB)), length(CAST(id AS BLOB)),
    length(CAST(type AS BLOB)), length(metadata), length(data)), '') AS fields,
  CAST(group_concat(CAST(stream || CAST(revision AS TEXT) || id || type || metadata || data AS BLOB), '') AS BLOB) AS bytes
  FROM events WHERE position > ? AND position <= ?`;

/** A row of LEAF_CHUNK_SQL. */
export interface LeafChunkRow {
  readonly count: number;
  readonly nulls: number;
  readonly fields: string | null;
  readonly bytes: Buffer | null;
}

/** Hex digits LEAF_CHUNK_SQL writes an event: a 64-bit position and six 32-bit lengths. */
const FIELDS_HEX = 2 * (8 + 6 * 4);

/**
 * Calls `each` with every event of a LEAF_CHUNK_SQL row, in position order: its position, its
 * stream and its 0x00 ‖ leaf bytes (in the buffer leafBytes reuses: hash or copy them first).
 * Returns false, having called nothing, when the row cannot be used as it is and the events must
 * be read a row each (PREFIXED_LEAF_HEX_SQL), which says what is wrong: a NULL field (the table
 * was rebuilt by hand), positions out of (after, upTo] or not in ascending order, or lengths
 * that do not add up to the bytes.
 */
export function leafChunk(row: LeafChunkRow, after: number, upTo: number, each: (position: number, stream: string, prefixedLeaf: Buffer) => void): boolean {
  if (row.count === 0) return true;
  if (row.nulls !== 0 || row.fields === null || row.bytes === null || row.fields.length !== row.count * FIELDS_HEX) return false;
  const fields = Buffer.from(row.fields, 'hex');
  const bytes = row.bytes;
  const stride = FIELDS_HEX / 2;
  const positionAt = (at: number) => fields.readUInt32BE(at) * 2 ** 32 + fields.readUInt32BE(at + 4);
  const sizeAt = (at: number) => {
    let size = 0;
    for (let k = 0; k < 6; k++) size += fields.readUInt32BE(at + 8 + 4 * k);
    return size;
  };
  let total = 0;
  let last = after;
  for (let at = 0; at < fields.length; at += stride) {
    const position = positionAt(at);
    if (!(position > last && position <= upTo)) return false;
    last = position;
    total += sizeAt(at);
  }
  if (total !== bytes.length) return false;
  let from = 0;
  for (let at = 0; at < fields.length; at += stride) {
    const size = 1 + LEAF_FORMAT.length + 24 + sizeAt(at);
    if (size > scratch.length) scratch = Buffer.alloc(Math.max(size, scratch.length * 2));
    scratch[0] = 0x00;
    let to = 1 + LEAF_FORMAT.copy(scratch, 1);
    const stream = bytes.toString('utf8', from, from + fields.readUInt32BE(at + 8));
    for (let k = 0; k < 6; k++) {
      const length = fields.readUInt32BE(at + 8 + 4 * k);
      scratch.writeUInt32BE(length, to);
      bytes.copy(scratch, to + 4, from, from + length);
      to += 4 + length;
      from += length;
    }
    each(positionAt(at), stream, scratch.subarray(0, to));
  }
  return true;
}
