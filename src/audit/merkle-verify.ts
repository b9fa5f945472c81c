import { createHash } from 'node:crypto';

/*
 * The auditor's verifier. It runs outside the service, so it depends on node:crypto alone and
 * repeats the two hash functions of merkle.ts instead of importing them: what it trusts is this
 * file and RFC 9162, not the code under audit. It hashes with createHash, which every Node
 * version an auditor may have provides; unlike the log it is never on a hot path.
 */

const HASH_SIZE = 32;

/** RFC 6962 §2.1: SHA-256(0x00 ‖ entry). */
export function leafHash(bytes: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0x00]))
    .update(bytes)
    .digest();
}

/** RFC 6962 §2.1: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0x01]))
    .update(left)
    .update(right)
    .digest();
}

/** Tree sizes and indices are uint64 in RFC 9162 (§4.3, §4.4); a number must be a safe integer to mean one exactly. */
export type Uint64 = number | bigint;

const UINT64_LIMIT = 1n << 64n;

function toUint64(value: Uint64): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n && value < UINT64_LIMIT ? value : undefined;
  return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** Everything fed to nodeHash as a child must be a hash; a shorter or longer value is malformed, not just wrong. */
function allHashes(values: readonly Uint8Array[]): boolean {
  return values.every((v) => v instanceof Uint8Array && v.length === HASH_SIZE);
}

/**
 * The root hash that an inclusion proof implies, by the algorithm of RFC 9162 §2.1.3.2 (steps
 * 1 to 4 and the sn = 0 check of step 5), or undefined where the proof is malformed: index
 * beyond the tree, a proof too long (sn reaches 0 early) or too short (sn not 0 at the end).
 */
export function rootFromInclusion(leaf: Uint8Array, leafIndex: Uint64, treeSize: Uint64, proof: readonly Uint8Array[] | null): Buffer | undefined {
  const index = toUint64(leafIndex);
  const size = toUint64(treeSize);
  const path = proof ?? [];
  if (index === undefined || size === undefined || index >= size) return undefined;
  if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE || !allHashes(path)) return undefined;
  let fn = index;
  let sn = size - 1n;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      // On the right edge of the tree a node with no right sibling moves up unchanged.
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/** RFC 9162 §2.1.3.2: does `proof` show the leaf at `leafIndex` in the tree of `treeSize` leaves with root `root`? */
export function verifyInclusion(leaf: Uint8Array, leafIndex: Uint64, treeSize: Uint64, proof: readonly Uint8Array[] | null, root: Uint8Array): boolean {
  const computed = rootFromInclusion(leaf, leafIndex, treeSize, proof);
  return computed !== undefined && root instanceof Uint8Array && same(computed, root);
}

/**
 * RFC 9162 §2.1.4.2: is the tree of size2 with root2 an append-only extension of the tree of
 * size1 with root1? The RFC algorithm covers 0 < size1 < size2; around it:
 * - size1 > size2 is never consistent;
 * - size1 = 0 is refused, as the Certificate Transparency reference verifier
 *   (transparency-dev/merkle) does: every tree extends the empty one, so such a proof proves
 *   nothing, and a caller asking for it has most likely lost a size;
 * - size1 = size2 needs the empty proof (SUBPROOF(m, D[m], true) = {}, RFC 9162 §2.1.4.1) and
 *   equal roots.
 */
export function verifyConsistency(size1: Uint64, size2: Uint64, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[] | null): boolean {
  const first = toUint64(size1);
  const second = toUint64(size2);
  const given = proof ?? [];
  if (first === undefined || second === undefined || first === 0n || first > second) return false;
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false;
  if (first === second) return given.length === 0 && same(root1, root2);
  // Step 1.
  if (given.length === 0) return false;
  // Step 2: a power-of-two first tree is a complete subtree of the second, so the proof omits its root.
  const path = (first & (first - 1n)) === 0n ? [root1, ...given] : [...given];
  if (!allHashes(path)) return false;
  // Steps 3 and 4.
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 5.
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 7.
  return sn === 0n && same(fr, root1) && same(sr, root2);
}
