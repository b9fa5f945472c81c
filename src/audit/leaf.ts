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
  const revision = String(event.revision);
  const size =
    LEAF_FORMAT.length +
    24 +
    Buffer.byteLength(event.stream) +
    revision.length +
    Buffer.byteLength(event.id) +
    Buffer.byteLength(event.type) +
    event.metadata.length +
    event.data.length;
  if (size > scratch.length) scratch = Buffer.alloc(Math.max(size, scratch.length * 2));
  let at = LEAF_FORMAT.copy(scratch, 0);
  const text = (value: string) => {
    const n = scratch.write(value, at + 4, 'utf8');
    scratch.writeUInt32BE(n, at);
    at += 4 + n;
  };
  const bytes = (value: Uint8Array) => {
    scratch.writeUInt32BE(value.length, at);
    scratch.set(value, at + 4);
    at += 4 + value.length;
  };
  text(event.stream);
  text(revision);
  text(event.id);
  text(event.type);
  bytes(event.metadata);
  bytes(event.data);
  return scratch.subarray(0, at);
}
