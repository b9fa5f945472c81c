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
 * Wire format of sealed data (JSON): `{ "sealed": 1, "kid": key id, "iv": b64, "ct": b64 (with
 * the GCM tag), "categories": [...], ...clear ids }`.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const IV = 12;
const TAG = 16;
/** The ids an event keeps in clear beside its sealed data: not personal, and what an erased case's fold still needs. */
const CLEAR_IDS = ['caseId', 'consentId', 'planRevision'] as const;

interface SealedData {
  readonly sealed: 1;
  readonly kid: string;
  readonly iv: string;
  readonly ct: string;
  readonly categories?: readonly string[];
  readonly [id: string]: unknown;
}

export function sealWith(key: Buffer, plaintext: Buffer, aad: string): { iv: string; ct: string } {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv: iv.toString('base64'), ct: ct.toString('base64') };
}

export function openWith(key: Buffer, sealed: { iv: string; ct: string }, aad: string): Buffer {
  const ct = Buffer.from(sealed.ct, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(ct.subarray(ct.length - TAG));
  return Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG)), decipher.final()]);
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
      const sealed: SealedData = {
        sealed: 1,
        kid: key.id,
        ...sealWith(key.key, Buffer.from(JSON.stringify(data), 'utf8'), aadOf(event.id, event.type)),
        ...(event.categories ? { categories: [...event.categories] } : {}),
        ...clear,
      };
      return { id: event.id, type: event.type, data: Buffer.from(JSON.stringify(sealed), 'utf8'), metadata };
    },

    decode(_stream, id, type, data, metadata): DecodedEvent {
      const meta = decodeMetadata(metadata);
      const stored = JSON.parse(utf8.decode(data)) as SealedData | Record<string, unknown>;
      let raw: unknown = stored;
      if (stored.sealed === 1) {
        const envelope = stored as SealedData;
        const key = keys?.dataKey(envelope.kid);
        if (!key) {
          const ids = Object.fromEntries(CLEAR_IDS.filter((f) => envelope[f] !== undefined).map((f) => [f, envelope[f]]));
          return { data: { erased: true, ...ids }, metadata: meta, erased: true };
        }
        raw = JSON.parse(openWith(key, envelope, aadOf(id, type)).toString('utf8'));
      }
      return { data: isEventType(type) ? upcast(type, meta.schemaVersion, raw) : raw, metadata: meta };
    },
  };
}

/** The categories an event's data is sealed with, read without its key (the auditors' export). */
export function clearCategories(data: Uint8Array): string[] | undefined {
  const stored = JSON.parse(utf8.decode(data)) as { sealed?: number; categories?: string[] };
  return stored.sealed === 1 ? stored.categories : undefined;
}

/** How the read models seal what they keep of a case: under the case's data key. */
export function caseSealer(keys: KeyStore): CaseSealer {
  return {
    seal(caseId, context, text) {
      const key = keys.keyOfCase(caseId);
      if (!key) throw new Error(`no data key for case ${caseId}: an erased case's views hold no personal data and are not sealed`);
      const { iv, ct } = sealWith(key.key, Buffer.from(text, 'utf8'), `${caseId}\u0000${context}`);
      return `${key.id}:${iv}:${ct}`;
    },
    open(caseId, context, sealed) {
      if (sealed.startsWith('clear:')) return sealed.slice('clear:'.length);
      const [kid, iv, ct] = sealed.split(':');
      const key = kid ? keys.dataKey(kid) : undefined;
      if (!key || !iv || !ct) return undefined;
      return openWith(key, { iv, ct }, `${caseId}\u0000${context}`).toString('utf8');
    },
    personId: (fiscalCode) => keys.personId(fiscalCode),
    forget: (subject) => keys.forget(subject),
  };
}
