import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/*
 * AES-256-GCM as the codec and the read models use it, on node:crypto alone (the opener's worker
 * thread loads this module and nothing of the event catalogue). Sealed bytes are
 * `prefix ‖ iv ‖ ciphertext ‖ tag`; the prefix is the caller's and is not part of what is opened.
 */
export const IV = 12;
export const TAG = 16;

/**
 * Random 96-bit IVs for AES-GCM, drawn from the CSPRNG in blocks: one call per 512 seals instead
 * of one per seal (a small randomBytes call costs as much as the encryption of a view).
 */
let pool = Buffer.alloc(0);
let used = 0;
function nextIv(): Buffer {
  if (used + IV > pool.length) {
    pool = randomBytes(IV * 512);
    used = 0;
  }
  used += IV;
  return pool.subarray(used - IV, used);
}

/**
 * AES-256-GCM: `prefix` ‖ iv ‖ ciphertext ‖ tag, in one buffer. Text is encoded as UTF-8 by the
 * cipher itself (one buffer fewer).
 */
export function sealBytes(key: Uint8Array, plaintext: Buffer | string, aad: string, prefix?: Buffer): Buffer {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  return prefix ? Buffer.concat([prefix, iv, body, final, tag]) : Buffer.concat([iv, body, final, tag]);
}

/** The plaintext of `iv ‖ ciphertext ‖ tag`; throws on a wrong key, wrong associated data or altered bytes. */
export function openBytes(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  const plaintext = decipher.update(bytes.subarray(IV, bytes.length - TAG));
  // GCM's final() yields no bytes; it checks the tag (and throws on a wrong key or altered data).
  decipher.final();
  return plaintext;
}
