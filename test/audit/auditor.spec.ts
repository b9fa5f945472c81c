import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { checkpointBytes, type SignedCheckpoint, verifyCheckpoint, verifyCheckpointConsistency, verifyEventInclusion } from '../../src/audit/auditor';
import { leafBytes } from '../../src/audit/leaf';
import { leafHash, MerkleLog } from '../../src/audit/merkle';

/*
 * The formats the README documents for auditors, rebuilt here from the README's words, and the
 * standalone verifier held to them: what an auditor writes from the documentation must agree
 * with what the service signs and hashes.
 */

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const field = (bytes: Buffer) => Buffer.concat([u32(bytes.length), bytes]);

function auditorKey() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return { privateKey, key: { keyId, publicKey: raw.toString('base64') } };
}

function signCheckpoint(privateKey: ReturnType<typeof auditorKey>['privateKey'], keyId: string, zone: string, size: number, root: Buffer, at: string): SignedCheckpoint {
  // The README's signed bytes, written out by hand.
  const text = `equipe-ledger checkpoint v1\n${zone}\n${size}\n${root.toString('base64')}\n${at}\n`;
  return { zone, size, root: root.toString('base64'), at, keyId, signature: sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64') };
}

describe('the formats auditors rely on', () => {
  it('makes leaf bytes as the README says: "EL1" then six length-prefixed fields', () => {
    const event = {
      stream: 'case-valdinievole.6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11',
      revision: 12n,
      id: '0b0c9d1e-0000-4000-8000-000000000001',
      type: 'NoteRecorded',
      metadata: Buffer.from('{"agency":"sds-valdinievole"}'),
      data: Buffer.from([0x00, 0x01, 0xff, 0x10]),
    };
    const expected = Buffer.concat([
      Buffer.from('EL1'),
      field(Buffer.from(event.stream)),
      field(Buffer.from('12')),
      field(Buffer.from(event.id)),
      field(Buffer.from(event.type)),
      field(event.metadata),
      field(event.data),
    ]);
    expect(Buffer.from(leafBytes(event)).equals(expected)).toBe(true);
    expect(
      leafHash(leafBytes(event)).equals(
        createHash('sha256')
          .update(Buffer.from([0]))
          .update(expected)
          .digest(),
      ),
    ).toBe(true);
    // A byte moved from one field to the next makes other bytes: fields cannot run into each other.
    expect(Buffer.from(leafBytes({ ...event, type: 'NoteRecorde', metadata: Buffer.concat([Buffer.from('d'), event.metadata]) })).equals(expected)).toBe(false);
  });

  it('signs the exact checkpoint bytes of the README', () => {
    expect(checkpointBytes({ zone: 'z', size: 3, root: 'cm9vdA==', at: '2026-01-01T00:00:00.000Z' }).toString('utf8')).toBe(
      'equipe-ledger checkpoint v1\nz\n3\ncm9vdA==\n2026-01-01T00:00:00.000Z\n',
    );
  });

  describe('with a log of 11 events and checkpoints at 6 and 11', () => {
    const { privateKey, key } = auditorKey();
    const log = new MerkleLog();
    for (let i = 0; i < 11; i++) log.append(leafHash(Buffer.from(`event ${i}`)));
    const at = '2026-01-01T00:00:00.000Z';
    const six = signCheckpoint(privateKey, key.keyId, 'valdinievole', 6, log.root(6), at);
    const eleven = signCheckpoint(privateKey, key.keyId, 'valdinievole', 11, log.root(11), at);
    const b64 = (b: Buffer) => b.toString('base64');
    const inclusion = (i: number, size: number) => ({
      leafIdx: i,
      treeSize: size,
      leafHash: b64(leafHash(Buffer.from(`event ${i}`))),
      proof: log.inclusionProof(i, size).map(b64),
      root: b64(log.root(size)),
    });

    it('accepts a checkpoint signed with a listed key, and nothing changed in it', () => {
      expect(verifyCheckpoint(six, [key])).toEqual({ ok: true });
      for (const changed of [{ size: 7 }, { zone: 'other' }, { at: '2026-01-01T00:00:00.001Z' }, { root: eleven.root }])
        expect(verifyCheckpoint({ ...six, ...changed }, [key]).ok).toBe(false);
      expect(verifyCheckpoint(six, [{ ...key, keyId: 'ffffffffffffffff' }])).toEqual({ ok: false, reason: `no key ${key.keyId} among those given` });
      expect(verifyCheckpoint(six, [{ ...key, publicKey: 'bm90IGEga2V5' }]).ok).toBe(false);
      expect(verifyCheckpoint({ ...six, signature: 'AAAA' }, [key]).ok).toBe(false);
    });

    it("uses a key only under its own id, the hash of the key: not another key given under a trusted key's id", () => {
      const impostor = auditorKey();
      const forged = signCheckpoint(impostor.privateKey, key.keyId, 'valdinievole', 6, log.root(6), at);
      const reused = { keyId: key.keyId, publicKey: impostor.key.publicKey };
      const refused = { ok: false, reason: `the key given as ${key.keyId} is not the key of that id (the first 16 hex digits of SHA-256 of the key)` };
      // Found first, it would verify the forged checkpoint: beside the genuine key, it makes two keys of one id.
      const twice = { ok: false, reason: `two different keys are given as ${key.keyId}` };
      expect(verifyCheckpoint(forged, [reused, key])).toEqual(twice);
      expect(verifyCheckpoint(six, [key, reused])).toEqual(twice);
      expect(verifyCheckpoint(forged, [reused])).toEqual(refused);
      expect(verifyEventInclusion({ checkpoint: forged, keys: [reused, key], proof: inclusion(2, 6), leafHash: inclusion(2, 6).leafHash }).ok).toBe(false);
      // The same key listed twice (two copies of the list put together) is one key.
      expect(verifyCheckpoint(six, [key, { ...key }])).toEqual({ ok: true });
    });

    it('proves every event of a checkpoint, and no event with another leaf, index or tree', () => {
      const hash = (i: number) => inclusion(i, 6).leafHash;
      for (let i = 0; i < 6; i++) expect(verifyEventInclusion({ checkpoint: six, keys: [key], proof: inclusion(i, 6), leafHash: hash(i) })).toEqual({ ok: true });
      expect(verifyEventInclusion({ checkpoint: six, keys: [key], proof: { ...inclusion(2, 6), leafIdx: 3 }, leafHash: hash(2) }).ok).toBe(false);
      expect(verifyEventInclusion({ checkpoint: six, keys: [key], proof: inclusion(2, 11), leafHash: hash(2) }).ok).toBe(false);
      expect(verifyEventInclusion({ checkpoint: six, keys: [key], proof: inclusion(2, 6), leafHash: hash(3) }).ok).toBe(false);
      expect(verifyEventInclusion({ checkpoint: six, keys: [key], proof: { ...inclusion(2, 6), leafHash: hash(3) }, leafHash: hash(3) }).ok).toBe(false);
    });

    it("proves nothing without the event's leaf hash: a proof alone only says that some leaf is at its index", () => {
      // As a caller in plain JavaScript (the README's one-liner) may call it.
      const withoutHash = { checkpoint: six, keys: [key], proof: inclusion(2, 6) } as unknown as Parameters<typeof verifyEventInclusion>[0];
      expect(verifyEventInclusion(withoutHash)).toEqual({ ok: false, reason: "no leaf hash given: the event's hash says which event the proof is for" });
    });

    it('proves that the later checkpoint extends the earlier, and refuses a rewritten history', () => {
      const proof = { size1: 6, size2: 11, root1: six.root, root2: eleven.root, proof: log.consistencyProof(6, 11).map(b64) };
      expect(verifyCheckpointConsistency({ older: six, newer: eleven, keys: [key], proof })).toEqual({ ok: true });
      const other = new MerkleLog();
      for (let i = 0; i < 11; i++) other.append(leafHash(Buffer.from(i === 3 ? 'rewritten' : `event ${i}`)));
      const forged = signCheckpoint(privateKey, key.keyId, 'valdinievole', 11, other.root(11), at);
      expect(
        verifyCheckpointConsistency({ older: six, newer: forged, keys: [key], proof: { ...proof, root2: forged.root, proof: other.consistencyProof(6, 11).map(b64) } }).ok,
      ).toBe(false);
      expect(verifyCheckpointConsistency({ older: eleven, newer: six, keys: [key], proof }).ok).toBe(false);
    });
  });
});
