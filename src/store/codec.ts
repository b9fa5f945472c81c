import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type CaseSealer,
  currentVersion,
  type DecodedEvent,
  type EventCodec,
  type EventMetadata,
  EventMetadata as MetadataSchema,
  type EventToAppend,
  isEventType,
  parseEventData,
  parseStream,
  upcast,
} from '../../events';
import { RuleViolation } from '../errors';
import type { KeyStore } from '../keys/key-store';

/**
 * The one codec (ARCHITECTURE.md property 8): the one place where an event becomes bytes and
 * bytes become an event again, for both stores and for the projections' copy of the ledger.
 *
 * Data is checked against its current schema before it is written. The data of every case
 * event is sealed (AES-256-GCM) under the data key of the case's person, the event's id and type
 * as associated data, so a copy of the ledger is a copy of ciphertext, and destroying that
 * person's key erases them from every file at once. What stays in clear: the event type, zone,
 * agency, operator and time (metadata), the case id (the stream), the categories of the data
 * (for the auditors' export), and the structural ids an erased case still needs to keep its
 * shape (consent id, plan revision number). Stream names, types and metadata never hold
 * personal data. Protocol and access-trail events hold none and are not sealed.
 *
 * Wire format of sealed data (binary): a zero byte (clear data is JSON and begins with `{`), a
 * uint16 length, a clear JSON header `{ "kid": key id, "categories": [...], ...clear ids }`, the
 * 12-byte IV, then the AES-256-GCM ciphertext and its 16-byte tag.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const IV = 12;
const TAG = 16;
const SEALED = 0;
/** The ids an event keeps in clear beside its sealed data: not personal, and what an erased case's fold still needs. */
const CLEAR_IDS = ['caseId', 'consentId', 'planRevision'] as const;

interface SealedHeader {
  readonly kid: string;
  readonly categories?: readonly string[];
  readonly [id: string]: unknown;
}

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
export function sealBytes(key: Buffer, plaintext: Buffer | string, aad: string, prefix?: Buffer): Buffer {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  return prefix ? Buffer.concat([prefix, iv, body, final, tag]) : Buffer.concat([iv, body, final, tag]);
}

export function openBytes(key: Buffer, sealed: Uint8Array, aad: string): Buffer {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  const plaintext = decipher.update(bytes.subarray(IV, bytes.length - TAG));
  // GCM's final() yields no bytes; it checks the tag (and throws on a wrong key or altered data).
  decipher.final();
  return plaintext;
}

/** The clear header and the sealed part of an event's data, or undefined for data in clear. */
export function sealedParts(data: Uint8Array): { header: SealedHeader; sealed: Uint8Array } | undefined {
  if (data[0] !== SEALED) return undefined;
  const length = (data[1]! << 8) | data[2]!;
  return { header: JSON.parse(utf8.decode(data.subarray(3, 3 + length))) as SealedHeader, sealed: data.subarray(3 + length) };
}

const aadOf = (id: string, type: string) => `${id}\u0000${type}`;

/** Metadata as written: the port's fields, and the ids EventStoreDB's own tools link events by. */
function encodeMetadata(event: EventToAppend): Uint8Array {
  const metadata = MetadataSchema.parse({ ...event.metadata, schemaVersion: currentVersion(event.type as never) });
  return Buffer.from(JSON.stringify({ ...metadata, $correlationId: metadata.correlationId, $causationId: metadata.commandId }), 'utf8');
}

function decodeMetadata(bytes: Uint8Array): EventMetadata {
  const { $correlationId: _c, $causationId: _k, ...metadata } = JSON.parse(utf8.decode(bytes)) as EventMetadata & { $correlationId?: string; $causationId?: string };
  return metadata;
}

/**
 * The codec. With a key store, case events are sealed per person; without one (a benchmark's
 * baseline, nothing else), data is written in clear.
 */
export function createCodec(keys?: KeyStore): EventCodec {
  return {
    encode(event, stream) {
      if (!isEventType(event.type)) throw new Error(`unknown event type ${event.type}`);
      const data = parseEventData(event.type, event.data) as Record<string, unknown>;
      const metadata = encodeMetadata(event);
      const target = parseStream(stream);
      if (!keys || target.kind !== 'case') return { id: event.id, type: event.type, data: Buffer.from(JSON.stringify(data), 'utf8'), metadata };
      const key = event.type === 'ReferralSubmitted' ? keys.keyForNewCase(target.caseId, (data.person as { fiscalCode: string }).fiscalCode) : keys.keyOfCase(target.caseId);
      // The decider refuses commands on an erased case; one decided on a fold remembered from before the erasure is refused here.
      if (!key) throw new RuleViolation('case-erased', target.caseId);
      const clear = Object.fromEntries(CLEAR_IDS.filter((f) => data[f] !== undefined).map((f) => [f, data[f]]));
      const header = Buffer.from(JSON.stringify({ kid: key.id, ...(event.categories ? { categories: event.categories } : {}), ...clear }), 'utf8');
      const prefix = Buffer.concat([Buffer.from([SEALED, header.length >> 8, header.length & 0xff]), header]);
      return { id: event.id, type: event.type, data: sealBytes(key.key, JSON.stringify(data), aadOf(event.id, event.type), prefix), metadata };
    },

    decode(_stream, id, type, data, metadata): DecodedEvent {
      const meta = decodeMetadata(metadata);
      const parts = sealedParts(data);
      let raw: unknown;
      if (parts) {
        const key = keys?.dataKey(parts.header.kid);
        if (!key) {
          const ids = Object.fromEntries(CLEAR_IDS.filter((f) => parts.header[f] !== undefined).map((f) => [f, parts.header[f]]));
          return { data: { erased: true, ...ids }, metadata: meta, erased: true };
        }
        raw = JSON.parse(openBytes(key, parts.sealed, aadOf(id, type)).toString('utf8'));
      } else {
        raw = JSON.parse(utf8.decode(data));
      }
      return { data: isEventType(type) ? upcast(type, meta.schemaVersion, raw) : raw, metadata: meta };
    },
  };
}

/** The categories an event's data is sealed with, read without its key (the auditors' export). */
export function clearCategories(data: Uint8Array): readonly string[] | undefined {
  return sealedParts(data)?.header.categories;
}

/**
 * How the read models seal what they keep of a case: under the case's data key, as bytes
 * `[key id length][key id][iv ‖ ciphertext ‖ tag]` (no base64: views are read on every request).
 */
/** `[key id length][key id]`, made once per key id (a view row is sealed at every change of its case). */
const kidPrefixes = new Map<string, Buffer>();
function kidPrefix(id: string): Buffer {
  let prefix = kidPrefixes.get(id);
  if (!prefix) {
    const kid = Buffer.from(id, 'latin1');
    prefix = Buffer.concat([Buffer.from([kid.length]), kid]);
    if (kidPrefixes.size >= 10_000) kidPrefixes.clear();
    kidPrefixes.set(id, prefix);
  }
  return prefix;
}

export function caseSealer(keys: KeyStore): CaseSealer {
  return {
    seal(caseId, context, text) {
      const key = keys.keyOfCase(caseId);
      if (!key) throw new Error(`no data key for case ${caseId}: an erased case's views hold no personal data and are not sealed`);
      return sealBytes(key.key, text, `${caseId}\u0000${context}`, kidPrefix(key.id));
    },
    open(caseId, context, sealed) {
      if (typeof sealed === 'string') return sealed.startsWith('clear:') ? sealed.slice('clear:'.length) : undefined;
      const length = sealed[0]!;
      const key = keys.dataKey(Buffer.from(sealed.buffer, sealed.byteOffset + 1, length).toString('latin1'));
      if (!key) return undefined;
      return openBytes(key, sealed.subarray(1 + length), `${caseId}\u0000${context}`).toString('utf8');
    },
    personId: (fiscalCode) => keys.personId(fiscalCode),
    forget: (subject) => keys.forget(subject),
  };
}
