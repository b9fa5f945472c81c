import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EMPTY_ROOT, leafHash, MemoryNodeStore, MerkleLog, type NodeStore, nodeHash } from '../../src/audit/merkle';
import { rootFromInclusion, verifyConsistency, verifyInclusion } from '../../src/audit/merkle-verify';

/*
 * The reference below is RFC 6962 §2.1 written as plainly as possible, over the entries
 * themselves, so that the log and the verifier are both checked against something that shares
 * no code with them.
 */

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) of RFC 6962 §2.1. */
function mth(entries: readonly Uint8Array[]): Buffer {
  if (entries.length === 0) return sha256();
  if (entries.length === 1) return sha256(Buffer.from([0x00]), entries[0]!);
  const k = splitPoint(entries.length);
  return sha256(Buffer.from([0x01]), mth(entries.slice(0, k)), mth(entries.slice(k)));
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1. */
function path(m: number, entries: readonly Uint8Array[]): Buffer[] {
  if (entries.length <= 1) return [];
  const k = splitPoint(entries.length);
  return m < k ? [...path(m, entries.slice(0, k)), mth(entries.slice(k))] : [...path(m - k, entries.slice(k)), mth(entries.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2. */
function subproof(m: number, entries: readonly Uint8Array[], b: boolean): Buffer[] {
  if (m === entries.length) return b ? [] : [mth(entries)];
  const k = splitPoint(entries.length);
  return m <= k ? [...subproof(m, entries.slice(0, k), b), mth(entries.slice(k))] : [...subproof(m - k, entries.slice(k), false), mth(entries.slice(0, k))];
}

/** Which side each PATH element sits on, leaf end first: two sizes with the same shape hash a proof identically. */
function pathShape(m: number, n: number): string {
  if (n <= 1) return '';
  const k = splitPoint(n);
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}

/** |SUBPROOF(m, D[n], b)|, from the sizes alone. */
function subproofLength(m: number, n: number, b: boolean): number {
  if (m === n) return b ? 0 : 1;
  const k = splitPoint(n);
  return 1 + (m <= k ? subproofLength(m, k, b) : subproofLength(m - k, n - k, false));
}

function entriesOf(seed: number, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`entry ${seed}/${i}`));
}

function logOf(entries: readonly Uint8Array[], store: NodeStore = new MemoryNodeStore()): MerkleLog {
  const log = new MerkleLog(store);
  log.appendMany(entries.map((e) => leafHash(e)));
  return log;
}

function flipBit(hash: Uint8Array, bit: number): Buffer {
  const flipped = Buffer.from(hash);
  flipped[bit >> 3]! ^= 1 << (bit & 7);
  return flipped;
}

const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');

/** The 8 leaves of the Certificate Transparency reference tests (transparency-dev/merkle testonly/constants.go) and the roots of their prefixes. */
const REFERENCE_ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const REFERENCE_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('hashing (RFC 6962 §2.1)', () => {
  it('hashes the empty tree, leaves and nodes with the RFC prefixes', () => {
    expect(hex(EMPTY_ROOT)).toBe(REFERENCE_ROOTS[0]);
    const a = Buffer.from('a');
    const b = Buffer.from('b');
    expect(leafHash(a).equals(sha256(Buffer.from([0]), a))).toBe(true);
    expect(nodeHash(a, b).equals(sha256(Buffer.from([1]), a, b))).toBe(true);
  });

  it('gives the roots of the Certificate Transparency reference tree for every prefix', () => {
    const log = logOf(REFERENCE_ENTRIES);
    expect(REFERENCE_ROOTS.map((_, n) => hex(log.root(n)))).toEqual(REFERENCE_ROOTS);
  });
});

const VECTORS = join(__dirname, '../../../shared/vectors/rfc6962-merkle');
const vectorsPresent = existsSync(VECTORS);
// One line, outside Jest's console decoration, so a run without the folder says so.
if (!vectorsPresent) process.stdout.write(`\nRFC 6962 vector tests skipped: ${VECTORS} is not beside this clone\n`);

interface InclusionVector {
  leafIdx: bigint;
  treeSize: bigint;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: bigint;
  size2: bigint;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []))
    .sort();
}

/** Sizes are uint64 and some vectors use 2^64 − 1, which JSON.parse would round: read them as bigint. */
function readVector<T>(file: string): T {
  const text = readFileSync(file, 'utf8').replace(/("(?:leafIdx|treeSize|size1|size2)"\s*:\s*)(\d+)/g, '$1"$2"');
  return JSON.parse(text, (key, value: unknown) => (['leafIdx', 'treeSize', 'size1', 'size2'].includes(key) ? BigInt(value as string) : value)) as T;
}

const b64 = (s: string) => Buffer.from(s, 'base64');
const b64s = (proof: string[] | null) => (proof === null ? null : proof.map(b64));

const inclusionVectors = jsonFiles(join(VECTORS, 'inclusion')).map((file) => ({ name: relative(VECTORS, file), v: readVector<InclusionVector>(file) }));
const consistencyVectors = jsonFiles(join(VECTORS, 'consistency')).map((file) => ({ name: relative(VECTORS, file), v: readVector<ConsistencyVector>(file) }));

(vectorsPresent ? describe : describe.skip)('RFC 6962 / 9162 vectors of transparency-dev/merkle', () => {
  it('finds both inclusion and consistency cases', () => {
    expect(inclusionVectors.length).toBeGreaterThan(0);
    expect(consistencyVectors.length).toBeGreaterThan(0);
  });

  it.each(inclusionVectors)('answers inclusion case $name as the vector wants', ({ v }) => {
    expect(verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, b64s(v.proof), b64(v.root))).toBe(!v.wantErr);
  });

  it.each(consistencyVectors)('answers consistency case $name as the vector wants', ({ v }) => {
    expect(verifyConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), b64s(v.proof))).toBe(!v.wantErr);
  });

  it('produces exactly the proofs of the vectors built on the reference tree', () => {
    const log = logOf(REFERENCE_ENTRIES);
    const onReferenceTree = (size: bigint, root: string) => size >= 1n && size <= 8n && log.root(Number(size)).equals(b64(root));
    let compared = 0;
    for (const { v } of inclusionVectors.filter(({ v }) => !v.wantErr && onReferenceTree(v.treeSize, v.root))) {
      expect(log.inclusionProof(Number(v.leafIdx), Number(v.treeSize)).map(hex)).toEqual((b64s(v.proof) ?? []).map(hex));
      compared += 1;
    }
    for (const { v } of consistencyVectors.filter(({ v }) => !v.wantErr && onReferenceTree(v.size2, v.root2))) {
      expect(log.consistencyProof(Number(v.size1), Number(v.size2)).map(hex)).toEqual((b64s(v.proof) ?? []).map(hex));
      compared += 1;
    }
    expect(compared).toBeGreaterThanOrEqual(9);
  });
});

describe('MerkleLog against the RFC 6962 definitions', () => {
  const tree = fc.record({ seed: fc.nat(), n: fc.integer({ min: 1, max: 300 }) });

  it('has the root MTH of every prefix', () => {
    fc.assert(
      fc.property(tree, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), ({ seed, n }, picks) => {
        const entries = entriesOf(seed, n);
        const log = logOf(entries);
        for (const m of [0, n, ...picks.map((p) => p % (n + 1))]) expect(hex(log.root(m))).toBe(hex(mth(entries.slice(0, m))));
      }),
      { numRuns: 60 },
    );
  });

  it('gives the inclusion proofs of PATH, and the verifier accepts them', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), ({ seed, n }, s, i) => {
        const entries = entriesOf(seed, n);
        const log = logOf(entries);
        const size = 1 + (s % n);
        const index = i % size;
        const proof = log.inclusionProof(index, size);
        expect(proof.map(hex)).toEqual(path(index, entries.slice(0, size)).map(hex));
        expect(verifyInclusion(leafHash(entries[index]!), index, size, proof, log.root(size))).toBe(true);
        expect(rootFromInclusion(leafHash(entries[index]!), index, size, proof)?.equals(log.root(size))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('gives the consistency proofs of PROOF, and the verifier accepts them', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), ({ seed, n }, s2, s1) => {
        const entries = entriesOf(seed, n);
        const log = logOf(entries);
        const size2 = 1 + (s2 % n);
        const size1 = 1 + (s1 % size2);
        const proof = log.consistencyProof(size1, size2);
        expect(proof.map(hex)).toEqual(subproof(size1, entries.slice(0, size2), true).map(hex));
        expect(verifyConsistency(size1, size2, log.root(size1), log.root(size2), proof)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the verifier refuses altered proofs', () => {
  /** A log, a tree size within it and a proof to tamper with; n ≥ 2 so that proofs can be non-empty. */
  const inclusionCase = fc.record({ seed: fc.nat(), n: fc.integer({ min: 2, max: 300 }), s: fc.nat(), i: fc.nat() }).map(({ seed, n, s, i }) => {
    const entries = entriesOf(seed, n);
    const log = logOf(entries);
    const size = 1 + (s % n);
    const index = i % size;
    return { leaf: leafHash(entries[index]!), index, size, proof: log.inclusionProof(index, size), root: log.root(size) };
  });

  const consistencyCase = fc.record({ seed: fc.nat(), n: fc.integer({ min: 2, max: 300 }), s2: fc.nat(), s1: fc.nat() }).map(({ seed, n, s2, s1 }) => {
    const log = logOf(entriesOf(seed, n));
    const size2 = 2 + (s2 % (n - 1));
    const size1 = 1 + (s1 % (size2 - 1));
    return { size1, size2, root1: log.root(size1), root2: log.root(size2), proof: log.consistencyProof(size1, size2) };
  });

  it('refuses an inclusion proof with any bit of any element flipped', () => {
    fc.assert(
      fc.property(inclusionCase, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ leaf, index, size, proof, root }, at, bit) => {
        fc.pre(proof.length > 0);
        const altered = proof.map((p, j) => (j === at % proof.length ? flipBit(p, bit) : p));
        expect(verifyInclusion(leaf, index, size, altered, root)).toBe(false);
      }),
    );
  });

  it('refuses an inclusion proof with an element dropped or added', () => {
    fc.assert(
      fc.property(
        inclusionCase,
        fc.nat(),
        fc.constantFrom('drop', 'random', 'repeat', 'root'),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        ({ leaf, index, size, proof, root }, at, how, random) => {
          const altered = [...proof];
          if (how === 'drop') {
            fc.pre(proof.length > 0);
            altered.splice(at % proof.length, 1);
          } else {
            const extra = how === 'random' ? Buffer.from(random) : how === 'root' ? root : (proof[at % Math.max(proof.length, 1)] ?? leaf);
            altered.splice(at % (proof.length + 1), 0, extra);
          }
          expect(verifyInclusion(leaf, index, size, altered, root)).toBe(false);
          // A proof of the wrong length is malformed (RFC 9162 §2.1.3.2 steps 4a and 5), whatever it hashes to.
          expect(rootFromInclusion(leaf, index, size, altered)).toBeUndefined();
        },
      ),
    );
  });

  it('refuses an inclusion proof for any other leaf index', () => {
    fc.assert(
      fc.property(inclusionCase, fc.nat({ max: 1000 }), ({ leaf, index, size, proof, root }, other) => {
        fc.pre(other !== index);
        expect(verifyInclusion(leaf, other, size, proof, root)).toBe(false);
      }),
    );
  });

  it('refuses an inclusion proof for any other tree size unless that size hashes the path identically', () => {
    fc.assert(
      fc.property(inclusionCase, fc.nat({ max: 1000 }), ({ leaf, index, size, proof, root }, other) => {
        fc.pre(other !== size);
        const sameShape = other > index && pathShape(index, other) === pathShape(index, size);
        expect(verifyInclusion(leaf, index, other, proof, root)).toBe(sameShape);
      }),
    );
  });

  it('refuses a consistency proof with any bit of any element or of either root flipped', () => {
    fc.assert(
      fc.property(consistencyCase, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ size1, size2, root1, root2, proof }, at, bit) => {
        const altered = proof.map((p, j) => (j === at % proof.length ? flipBit(p, bit) : p));
        expect(verifyConsistency(size1, size2, root1, root2, altered)).toBe(false);
        expect(verifyConsistency(size1, size2, flipBit(root1, bit), root2, proof)).toBe(false);
        expect(verifyConsistency(size1, size2, root1, flipBit(root2, bit), proof)).toBe(false);
        expect(verifyConsistency(size1, size2, root2, root1, proof)).toBe(false);
      }),
    );
  });

  it('refuses a consistency proof with an element dropped or added', () => {
    fc.assert(
      fc.property(
        consistencyCase,
        fc.nat(),
        fc.constantFrom('drop', 'random', 'repeat', 'root1', 'root2'),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        ({ size1, size2, root1, root2, proof }, at, how, random) => {
          const altered = [...proof];
          if (how === 'drop') altered.splice(at % proof.length, 1);
          else {
            const extra = how === 'random' ? Buffer.from(random) : how === 'root1' ? root1 : how === 'root2' ? root2 : proof[at % proof.length]!;
            altered.splice(at % (proof.length + 1), 0, extra);
          }
          expect(verifyConsistency(size1, size2, root1, root2, altered)).toBe(false);
        },
      ),
    );
  });

  it('refuses a consistency proof for other tree sizes whenever they call for a proof of another length', () => {
    fc.assert(
      fc.property(consistencyCase, fc.nat({ max: 700 }), fc.nat({ max: 700 }), fc.boolean(), ({ size1, size2, root1, root2, proof }, a, b, both) => {
        const other1 = both || a % 2 === 0 ? a : size1;
        const other2 = both || a % 2 === 1 ? b : size2;
        fc.pre(other1 !== size1 || other2 !== size2);
        const accepted = verifyConsistency(other1, other2, root1, root2, proof);
        if (other1 === 0 || other1 >= other2 || subproofLength(other1, other2, true) !== proof.length) expect(accepted).toBe(false);
      }),
    );
  });

  it('accepts a proof under another size of the same shape, so the tree size must come from the signed tree head', () => {
    // RFC 9162 §4.10: the size is authenticated by the signature over the tree head, not by the proof.
    const log = logOf(REFERENCE_ENTRIES);
    expect(verifyInclusion(leafHash(REFERENCE_ENTRIES[0]!), 0, 4, log.inclusionProof(0, 3), log.root(3))).toBe(true);
    expect(verifyConsistency(4, 5, log.root(4), log.root(8), log.consistencyProof(4, 8))).toBe(true);
    expect(verifyConsistency(4, 5, log.root(4), log.root(5), log.consistencyProof(4, 8))).toBe(false);
  });

  it('refuses sizes and hashes that are malformed rather than merely wrong', () => {
    const log = logOf(REFERENCE_ENTRIES);
    const leaf = leafHash(REFERENCE_ENTRIES[2]!);
    const proof = log.inclusionProof(2, 8);
    expect(verifyInclusion(leaf, 2, 8, proof, log.root())).toBe(true);
    expect(verifyInclusion(leaf, 2n, 8n, proof, log.root())).toBe(true);
    for (const [index, size] of [
      [-1, 8],
      [2.5, 8],
      [2, 8.5],
      [2, Number.MAX_SAFE_INTEGER + 1],
      [2n, 1n << 64n],
      [8, 8],
      [0, 0],
    ] as const) {
      expect(verifyInclusion(leaf, index, size, proof, log.root())).toBe(false);
    }
    expect(verifyInclusion(leaf.subarray(0, 31), 2, 8, proof, log.root())).toBe(false);
    expect(verifyInclusion(leaf, 2, 8, [...proof.slice(0, 2), Buffer.concat([proof[2]!, Buffer.alloc(1)])], log.root())).toBe(false);
    expect(verifyConsistency(3, 8, log.root(3), log.root(8), log.consistencyProof(3, 8))).toBe(true);
    // A power-of-two root1 is hashed as a child (RFC 9162 §2.1.4.2 step 2), so it too must be a hash, however the sums come out.
    const short = Buffer.from('not a hash');
    const right = leafHash(REFERENCE_ENTRIES[1]!);
    expect(verifyConsistency(1, 2, short, nodeHash(short, right), [right])).toBe(false);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, log.root(8), [])).toBe(false);
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(8, 3, log.root(8), log.root(3), log.consistencyProof(3, 8))).toBe(false);
    expect(verifyConsistency(-3, 8, log.root(3), log.root(8), log.consistencyProof(3, 8))).toBe(false);
    expect(verifyConsistency(3, 8, log.root(3), log.root(8), null)).toBe(false);
    expect(verifyConsistency(8, 8, log.root(8), log.root(8), null)).toBe(true);
    expect(verifyConsistency(8, 8, log.root(8), log.root(8), [log.root(8)])).toBe(false);
  });
});

describe('MerkleLog storage', () => {
  class CountingStore implements NodeStore {
    gets = 0;
    constructor(private readonly inner: NodeStore = new MemoryNodeStore()) {}
    get(level: number, index: number) {
      this.gets += 1;
      return this.inner.get(level, index);
    }
    put(level: number, index: number, hash: Uint8Array) {
      this.inner.put(level, index, hash);
    }
    size() {
      return this.inner.size();
    }
  }

  it('reads only the stored top node for the root of 2^k leaves', () => {
    const store = new CountingStore();
    const log = new MerkleLog(store);
    for (let k = 0; k <= 10; k++) {
      while (log.size < 2 ** k) log.append(leafHash(Buffer.from(`leaf ${log.size}`)));
      store.gets = 0;
      log.root();
      expect(store.gets).toBe(1);
    }
  });

  it('reads one stored node per complete subtree of the size and O(log² n) nodes per proof', () => {
    const store = new CountingStore();
    const log = new MerkleLog(store);
    const n = 40_000;
    log.appendMany(Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`))));
    const depth = Math.ceil(Math.log2(n));
    for (const size of [n, n - 1, 32_768, 32_769, 12_345, 3]) {
      store.gets = 0;
      log.root(size);
      expect(store.gets).toBe(size.toString(2).replace(/0/g, '').length);
      for (const index of [0, size >> 1, size - 1]) {
        store.gets = 0;
        log.inclusionProof(index, size);
        expect(store.gets).toBeLessThanOrEqual(depth * depth);
      }
      store.gets = 0;
      log.consistencyProof(Math.max(1, size - 1000), n);
      expect(store.gets).toBeLessThanOrEqual(depth * depth);
    }
  });

  it('stores each completed subtree once, as the leaf that completes it arrives', () => {
    const store = new MemoryNodeStore();
    const log = new MerkleLog(store);
    const entries = entriesOf(7, 6);
    log.appendMany(entries.map((e) => leafHash(e)));
    expect(hex(store.get(1, 2)!)).toBe(hex(mth(entries.slice(4, 6))));
    expect(hex(store.get(2, 0)!)).toBe(hex(mth(entries.slice(0, 4))));
    expect(store.get(2, 1)).toBeUndefined();
    expect(store.get(3, 0)).toBeUndefined();
    expect(() => store.put(0, 3, Buffer.alloc(32))).toThrow(RangeError);
  });

  // A size hint (what verification takes from the log) only sizes the arrays: below, at or above the leaves to come, or nonsense.
  it.each([undefined, 0, 1, 17, 300, 1000, -5, Number.NaN])(
    'appends pages of leaves in place (appendLeaves, what verification uses): exactly the nodes MerkleLog.append stores (size hint %p)',
    (hint) => {
      const byLog = new MemoryNodeStore();
      const log = new MerkleLog(byLog);
      const inPlace = new MemoryNodeStore(hint);
      const inPlaceLog = new MerkleLog(inPlace);
      // Pages of every shape (single leaves, odd and even runs, one larger than a level's first
      // array), 300 leaves in all, so pages start and end on both sides of every pair.
      const entries = entriesOf(11, 300);
      const pages = [1, 1, 3, 2, 7, 1, 16, 5, 130, 9, 1, 64, 60];
      expect(pages.reduce((a, b) => a + b, 0)).toBe(300);
      let done = 0;
      for (const size of pages) {
        const page = entries.slice(done, done + size).map((e) => leafHash(e));
        page.forEach((leaf) => log.append(leaf));
        inPlace.appendLeaves(Buffer.concat(page));
        done += size;
        expect(inPlace.size()).toBe(done);
        expect(hex(inPlaceLog.root())).toBe(hex(mth(entries.slice(0, done))));
      }
      for (let level = 0; level <= 9; level++) {
        for (let index = 0; index * 2 ** level < 300 + 2 ** level; index++) {
          const made = byLog.get(level, index);
          expect({ level, index, node: made && hex(made) }).toEqual({ level, index, node: inPlace.get(level, index) && hex(inPlace.get(level, index)!) });
        }
      }
      inPlace.appendLeaves(Buffer.alloc(0));
      expect(() => inPlace.appendLeaves(Buffer.alloc(31))).toThrow(RangeError);
      expect(inPlace.size()).toBe(300);
    },
  );

  it('refuses out-of-range arguments with a RangeError', () => {
    const log = logOf(REFERENCE_ENTRIES);
    const calls: Array<() => unknown> = [
      () => log.append(Buffer.alloc(31)),
      () => log.root(9),
      () => log.root(-1),
      () => log.inclusionProof(8, 8),
      () => log.inclusionProof(-1, 8),
      () => log.inclusionProof(1.5, 8),
      () => log.inclusionProof(0, 9),
      () => log.inclusionProof(0, 0),
      () => log.consistencyProof(3, 9),
      () => log.consistencyProof(5, 4),
      () => log.consistencyProof(0, 4),
      () => new MerkleLog().inclusionProof(0, 0),
    ];
    for (const call of calls) expect(call).toThrow(RangeError);
    expect(new MerkleLog().root().equals(EMPTY_ROOT)).toBe(true);
    expect(log.consistencyProof(8, 8)).toEqual([]);
  });
});
