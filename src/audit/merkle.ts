import { hash } from 'node:crypto';
import { type LeafInput, prefixedLeafBytes } from './leaf';

/** SHA-256 output size: every stored node and every proof element has this length. */
export const HASH_SIZE = 32;

/*
 * One-shot crypto.hash rather than createHash: each createHash object carries a native handle
 * that the young-generation GC must finalise, and at a million leaves those scavenges paused
 * proofs for 10-20 ms; crypto.hash allocates only its result. That result is asked for as a
 * 'binary' (latin1) string, one byte a character, and made a Buffer here, from Node's pool: on
 * Node 20 a digest returned as a Buffer is allocated natively, about 1 µs a hash on the 2-vCPU
 * machine, more than hashing a 600-byte leaf; the string and the pooled copy cost a fifth of that.
 */
export function sha256(data: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', data, 'binary'), 'latin1');
}

/** SHA-256 of `data` written into `target` at `offset`, making no Buffer at all (verification hashes a million leaves into one array). */
export function sha256Into(data: Uint8Array, target: Buffer, offset: number): void {
  target.write(hash('sha256', data, 'binary'), offset, HASH_SIZE, 'latin1');
}

/** MTH({}) = SHA-256() (RFC 6962 §2.1, RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** Leaves and interior nodes get distinct prefixes so a leaf can never pass for a node (RFC 6962 §2.1, second preimage resistance). */
export function leafHash(bytes: Uint8Array): Buffer {
  return sha256(Buffer.concat([LEAF_PREFIX, bytes]));
}

/** 0x01 ‖ left ‖ right, in one reused buffer: a tree of a million leaves hashes a million nodes. */
const NODE_INPUT = Buffer.alloc(1 + 2 * 32, 0x01);

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) return sha256(Buffer.concat([NODE_PREFIX, left, right]));
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_SIZE);
  return sha256(NODE_INPUT);
}

/** The leaf hash of an event as stored: SHA-256(0x00 ‖ leaf bytes), without copying the bytes again. */
export function leafHashOf(event: LeafInput): Buffer {
  return sha256(prefixedLeafBytes(event));
}

/** The root of a complete subtree over a power-of-two number of leaf hashes. */
export function subtreeRoot(leaves: readonly Uint8Array[]): Buffer {
  let level: Uint8Array[] = [...leaves];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return Buffer.from(level[0]!);
}

/**
 * Where the log keeps its hashes. (level, index) names the complete subtree over leaves
 * [index·2^level, (index+1)·2^level); level 0 holds the leaf hashes. A node is only ever written
 * once, when its last leaf arrives, so stored nodes never change afterwards.
 */
export interface NodeStore {
  get(level: number, index: number): Uint8Array | undefined;
  put(level: number, index: number, hash: Uint8Array): void;
  /** The number of leaves, i.e. of nodes at level 0. */
  size(): number;
}

/**
 * Keeps each level in one growable byte array rather than one Buffer per node: at a million
 * leaves that is 64 MB of hashes instead of two million small objects. `get` returns a view into
 * that array; written bytes never move or change, so the view stays valid, but callers must not
 * write through it.
 */
export class MemoryNodeStore implements NodeStore {
  private readonly levels: Array<{ bytes: Buffer; count: number }> = [];

  /**
   * `expected`: the leaves this store will likely hold (verification knows them from the log), so
   * that each level is allocated once rather than grown by doubling (every growth a new zeroed
   * array and a copy, external memory that made the main thread collect garbage). Only a hint: a
   * store grows past it, and a hint past `MAX_HINT` leaves is taken as that many.
   */
  constructor(expected = 0) {
    const leaves = Math.min(Math.max(0, Math.floor(expected)), MemoryNodeStore.MAX_HINT);
    for (let count = leaves; count > 0; count = Math.floor(count / 2)) {
      this.levels.push({ bytes: Buffer.alloc(count * HASH_SIZE), count: 0 });
    }
  }

  /** The largest hint taken (2^22 leaves: 256 MiB of hashes over every level). */
  static readonly MAX_HINT = 2 ** 22;

  get(level: number, index: number): Uint8Array | undefined {
    const row = this.levels[level];
    if (row === undefined || !Number.isInteger(index) || index < 0 || index >= row.count) return undefined;
    return row.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  /** Append-only per level: a write anywhere but the next free slot would rewrite history. */
  put(level: number, index: number, hash: Uint8Array): void {
    if (hash.length !== HASH_SIZE) throw new RangeError(`a node hash has ${HASH_SIZE} bytes, not ${hash.length}`);
    this.slot(level, index).set(hash, index * HASH_SIZE);
  }

  /**
   * Appends many leaf hashes at once (`hashes` holds them end to end, 32 bytes each) with every
   * subtree they complete, as that many MerkleLog.append calls over this store would, but level
   * by level: the leaves in one copy, then each level's new nodes hashed from the pairs below
   * (a node's two children lie side by side), with no Buffer per node. Verification appends each
   * page of the ledger so; a Buffer per node was most of its main thread.
   */
  appendLeaves(hashes: Uint8Array): void {
    const count = hashes.length / HASH_SIZE;
    if (!Number.isInteger(count)) throw new RangeError(`leaf hashes come ${HASH_SIZE} bytes each, not in ${hashes.length} bytes`);
    if (count === 0) return;
    let low = this.size();
    if (!Number.isSafeInteger(low + count)) throw new RangeError('the log is full');
    this.slot(0, low, count).set(hashes, low * HASH_SIZE);
    // The nodes of a level at [low, high) are new: their new parents are [⌊low/2⌋, ⌊high/2⌋).
    for (let level = 0, high = low + count; Math.floor(high / 2) > Math.floor(low / 2); level += 1) {
      const children = this.levels[level]!.bytes;
      const first = Math.floor(low / 2);
      const last = Math.floor(high / 2);
      const parents = this.slot(level + 1, first, last - first);
      for (let p = first; p < last; p++) {
        children.copy(NODE_INPUT, 1, 2 * p * HASH_SIZE, (2 * p + 2) * HASH_SIZE);
        sha256Into(NODE_INPUT, parents, p * HASH_SIZE);
      }
      low = first;
      high = last;
    }
  }

  size(): number {
    return this.levels[0]?.count ?? 0;
  }

  /** The bytes of a level with room for its next `count` nodes, the first of which must be `index`, counted as written. */
  private slot(level: number, index: number, count = 1): Buffer {
    while (this.levels.length <= level) this.levels.push({ bytes: Buffer.alloc(HASH_SIZE * 64), count: 0 });
    const row = this.levels[level]!;
    if (index !== row.count) throw new RangeError(`level ${level} holds ${row.count} nodes: the next one is ${row.count}, not ${index}`);
    if ((index + count) * HASH_SIZE > row.bytes.length) {
      const grown = Buffer.alloc(Math.max(row.bytes.length * 2, (index + count) * HASH_SIZE));
      row.bytes.copy(grown);
      row.bytes = grown;
    }
    row.count += count;
    return row.bytes;
  }
}

/**
 * An append-only Merkle tree in the manner of RFC 6962 §2.1 / RFC 9162 §2.1. Appending stores
 * every subtree the new leaf completes, so the root, inclusion proofs and consistency proofs of
 * any earlier size are assembled from stored nodes: a complete aligned range costs one `get`,
 * and only the ragged right edge of the requested size is hashed on the fly.
 */
export class MerkleLog {
  constructor(private readonly store: NodeStore = new MemoryNodeStore()) {}

  get size(): number {
    return this.store.size();
  }

  /** Returns the index of the new leaf. */
  append(leaf: Uint8Array): number {
    if (leaf.length !== HASH_SIZE) throw new RangeError(`a leaf hash has ${HASH_SIZE} bytes, not ${leaf.length}`);
    const index = this.store.size();
    if (!Number.isSafeInteger(index + 1)) throw new RangeError('the log is full');
    // Each time the new node is a right child, its parent is complete: climb while that holds.
    let hash: Uint8Array = leaf;
    let level = 0;
    let at = index;
    const parents: Array<[number, number, Buffer]> = [];
    while (at % 2 === 1) {
      const parent = nodeHash(this.node(level, at - 1), hash);
      level += 1;
      at = (at - 1) / 2;
      parents.push([level, at, parent]);
      hash = parent;
    }
    // The leaf goes in last: size() counts leaves, so it never reports a leaf whose subtrees are missing.
    for (const [l, i, h] of parents) this.store.put(l, i, h);
    this.store.put(0, index, leaf);
    return index;
  }

  /** Returns the new size. */
  appendMany(leaves: Iterable<Uint8Array>): number {
    for (const leaf of leaves) this.append(leaf);
    return this.size;
  }

  /** MTH(D[0:treeSize]) (RFC 6962 §2.1); the empty tree has EMPTY_ROOT. */
  root(treeSize: number = this.size): Buffer {
    this.checkSize('treeSize', treeSize, 0, this.size);
    return treeSize === 0 ? Buffer.from(EMPTY_ROOT) : this.rangeHash(0, treeSize);
  }

  /**
   * PATH(m, D[0:n]) of RFC 6962 §2.1.1 (the inclusion proof of RFC 9162 §2.1.3.1): the sibling
   * hashes from the leaf up to the root, leaf end first.
   */
  inclusionProof(leafIndex: number, treeSize: number = this.size): Buffer[] {
    this.checkSize('treeSize', treeSize, 1, this.size);
    this.checkSize('leafIndex', leafIndex, 0, treeSize - 1);
    // Walk down from the root as PATH recurses; its output is bottom-up, so collect and reverse.
    const topDown: Buffer[] = [];
    let start = 0;
    let end = treeSize;
    while (end - start > 1) {
      const k = largestPowerOfTwoBelow(end - start);
      if (leafIndex < start + k) {
        topDown.push(this.rangeHash(start + k, end));
        end = start + k;
      } else {
        topDown.push(this.rangeHash(start, start + k));
        start += k;
      }
    }
    return topDown.reverse();
  }

  /**
   * PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) of RFC 6962 §2.1.2 (RFC 9162 §2.1.4.1).
   * size1 = 0 is refused: a consistency proof from the empty tree proves nothing and the
   * verifier of RFC 9162 §2.1.4.2 requires 0 < first; equal sizes give the empty proof.
   */
  consistencyProof(size1: number, size2: number = this.size): Buffer[] {
    this.checkSize('size2', size2, 1, this.size);
    this.checkSize('size1', size1, 1, size2);
    const topDown: Buffer[] = [];
    let m = size1;
    let start = 0;
    let end = size2;
    let whole = true; // SUBPROOF's flag b: is D[start:start+m] the old tree itself, whose root the verifier already has?
    while (m !== end - start) {
      const k = largestPowerOfTwoBelow(end - start);
      if (m <= k) {
        topDown.push(this.rangeHash(start + k, end));
        end = start + k;
      } else {
        topDown.push(this.rangeHash(start, start + k));
        start += k;
        m -= k;
        whole = false;
      }
    }
    if (!whole) topDown.push(this.rangeHash(start, end));
    return topDown.reverse();
  }

  /**
   * MTH(D[start:end]) (RFC 6962 §2.1). Ranges the proofs ask for are either complete and aligned
   * (one stored node) or end at the requested tree size; for the latter the left part of each
   * split is complete and aligned, so this recurses only down the right edge: O(log n) gets.
   */
  private rangeHash(start: number, end: number): Buffer {
    const width = end - start;
    if (isPowerOfTwo(width) && start % width === 0) return Buffer.from(this.node(Math.log2(width), start / width));
    const k = largestPowerOfTwoBelow(width);
    return nodeHash(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  private node(level: number, index: number): Uint8Array {
    const hash = this.store.get(level, index);
    if (hash === undefined) throw new Error(`the node store lacks node (${level}, ${index}) of a tree of ${this.size} leaves`);
    return hash;
  }

  private checkSize(name: string, value: number, min: number, max: number): void {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be an integer in [${min}, ${max}], not ${value}`);
    }
  }
}

/** Arithmetic rather than bit operators: indices may pass 2^32, where JS bit operators wrap. */
function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** The k of RFC 6962 §2.1: the largest power of two strictly smaller than n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 2 ** Math.floor(Math.log2(n));
  // log2 may round either way near powers of two; settle it exactly.
  while (k >= n) k /= 2;
  while (k * 2 < n) k *= 2;
  return k;
}
