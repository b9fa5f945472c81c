import { createHash, createPublicKey, verify } from 'node:crypto';
import { verifyConsistency, verifyInclusion } from './merkle-verify';

/*
 * What an auditor outside the service runs (README "Auditors"): with nothing but a checkpoint
 * signing key, a signed checkpoint and a proof, it checks that an event is in the ledger, or
 * that a later ledger extends an earlier one. It depends on node:crypto and merkle-verify.ts
 * only: no NestJS, no store, nothing of the code under audit.
 */

/** A checkpoint as GET /v1/audit/checkpoints gives it; hashes and signature in base64. */
export interface SignedCheckpoint {
  readonly zone: string;
  readonly size: number;
  readonly root: string;
  readonly at: string;
  readonly keyId: string;
  readonly signature: string;
}

/** GET /v1/audit/proofs/inclusion. */
export interface InclusionProof {
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly leafHash: string;
  readonly proof: readonly string[];
  readonly root: string;
}

/** GET /v1/audit/proofs/consistency. */
export interface ConsistencyProof {
  readonly size1: number;
  readonly size2: number;
  readonly root1: string;
  readonly root2: string;
  readonly proof: readonly string[];
}

/** An Ed25519 key as GET /v1/audit/keys lists it. */
export interface AuditorKey {
  readonly keyId: string;
  readonly publicKey: string;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * The exact bytes a checkpoint's signature covers, UTF-8:
 *   "equipe-ledger checkpoint v1\n" zone "\n" size "\n" base64(root) "\n" at "\n"
 */
export function checkpointBytes(c: Pick<SignedCheckpoint, 'zone' | 'size' | 'root' | 'at'>): Buffer {
  return Buffer.from(`equipe-ledger checkpoint v1\n${c.zone}\n${c.size}\n${c.root}\n${c.at}\n`, 'utf8');
}

const b64 = (text: string) => Buffer.from(text, 'base64');

/** A raw 32-byte Ed25519 public key (base64) as a key object. */
function ed25519(publicKey: string) {
  const raw = b64(publicKey);
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * A key's id, as the README defines it: the first 16 hex digits of SHA-256 over the raw 32-byte
 * public key, so anyone holding the key can recompute it (the service's signing keys are named
 * by it too, signing-keys.ts).
 */
export function keyIdOf(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/**
 * Is the checkpoint signed by this key? `keys` may list several (rotation): the checkpoint's
 * keyId picks one. An id is not taken on trust: it is recomputed from the key, and two different
 * keys given under one id are refused, so a key slipped into the list under a trusted key's id
 * verifies nothing.
 */
export function verifyCheckpoint(checkpoint: SignedCheckpoint, keys: readonly AuditorKey[]): Verdict {
  const given = keys.filter((k) => k.keyId === checkpoint.keyId);
  if (given.length === 0) return { ok: false, reason: `no key ${checkpoint.keyId} among those given` };
  if (new Set(given.map((k) => b64(k.publicKey).toString('hex'))).size > 1) return { ok: false, reason: `two different keys are given as ${checkpoint.keyId}` };
  const key = given[0]!;
  if (keyIdOf(b64(key.publicKey)) !== key.keyId) {
    return { ok: false, reason: `the key given as ${key.keyId} is not the key of that id (the first 16 hex digits of SHA-256 of the key)` };
  }
  let good: boolean;
  try {
    good = verify(null, checkpointBytes(checkpoint), ed25519(key.publicKey), b64(checkpoint.signature));
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, reason: 'the signature does not match the checkpoint' };
}

/**
 * Is the auditor's event in the ledger the checkpoint signs? `leafHash` is the event's (its `hash`
 * in GET /v1/audit/events or `ledger export`, base64): without it a proof only shows that some
 * leaf is at that index. The proof must be for the checkpoint's tree.
 */
export function verifyEventInclusion(input: { checkpoint: SignedCheckpoint; keys: readonly AuditorKey[]; proof: InclusionProof; leafHash: string }): Verdict {
  const { checkpoint, proof } = input;
  // Checked at run time too: a caller in plain JavaScript may leave it out.
  if (typeof input.leafHash !== 'string' || input.leafHash === '') return { ok: false, reason: "no leaf hash given: the event's hash says which event the proof is for" };
  const signed = verifyCheckpoint(checkpoint, input.keys);
  if (!signed.ok) return signed;
  if (input.leafHash !== proof.leafHash) return { ok: false, reason: 'the proof is for another leaf' };
  if (proof.treeSize !== checkpoint.size) return { ok: false, reason: `the proof is for a tree of ${proof.treeSize} leaves, the checkpoint signs ${checkpoint.size}` };
  const included = verifyInclusion(b64(proof.leafHash), proof.leafIdx, proof.treeSize, proof.proof.map(b64), b64(checkpoint.root));
  return included ? { ok: true } : { ok: false, reason: "the proof does not lead to the checkpoint's root" };
}

/** Does the later checkpoint's ledger extend the earlier one's, event for event? */
export function verifyCheckpointConsistency(input: { older: SignedCheckpoint; newer: SignedCheckpoint; keys: readonly AuditorKey[]; proof: ConsistencyProof }): Verdict {
  const { older, newer, proof } = input;
  for (const c of [older, newer]) {
    const signed = verifyCheckpoint(c, input.keys);
    if (!signed.ok) return signed;
  }
  if (older.zone !== newer.zone) return { ok: false, reason: 'the checkpoints are of two zones' };
  if (proof.size1 !== older.size || proof.size2 !== newer.size) return { ok: false, reason: 'the proof is for other sizes than the checkpoints' };
  // Every tree extends the empty one (RFC 9162 needs no proof for it, and gives none).
  const consistent = older.size === 0 || verifyConsistency(older.size, newer.size, b64(older.root), b64(newer.root), proof.proof.map(b64));
  return consistent ? { ok: true } : { ok: false, reason: 'the later ledger does not extend the earlier one' };
}
