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
import { openBytes, sealBytes } from './aead';
import { CipherThread, type SealedItem } from './cipher-thread';

export { openBytes, sealBytes } from './aead';

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
const SEALED = 0;
/** The ids an event keeps in clear beside its sealed data: not personal, and what an erased case's fold still needs. */
const CLEAR_IDS = ['caseId', 'consentId', 'planRevision'] as const;

interface SealedHeader {
  readonly kid: string;
  readonly categories?: readonly string[];
  readonly [id: string]: unknown;
}

/** The clear header and the sealed part of an event's data, or undefined for data in clear. */
export function sealedParts(data: Uint8Array): { header: SealedHeader; sealed: Uint8Array } | undefined {
  if (data[0] !== SEALED) return undefined;
  const length = (data[1]! << 8) | data[2]!;
  return { header: JSON.parse(utf8.decode(data.subarray(3, 3 + length))) as SealedHeader, sealed: data.subarray(3 + length) };
}

/**
 * A page with at least this many sealed events is opened in the cipher thread
 * (decodeMany: a catch-up's pages); fewer, as a live subscription's, are opened here.
 */
const PARALLEL_FROM = 64;
/** One cipher thread per thread that decodes or seals: its worker starts on first use. */
const sharedThread = new CipherThread();

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
 * baseline, nothing else), data is written in clear. A page decoded at once (decodeMany) has its
 * sealed data opened by `cipher`'s worker thread when it is large and the worker is there.
 */
export function createCodec(keys?: KeyStore, cipher: CipherThread = sharedThread): EventCodec {
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

    ...(keys ? { batch: <T>(work: () => T): T => keys.batch(work) } : {}),

    decode(_stream, id, type, data, metadata): DecodedEvent {
      return opened(prepare(id, type, data, metadata));
    },

    async decodeMany(rows) {
      const prepared = rows.map((row) => prepare(row.id, row.type, row.data, row.metadata));
      const sealed = prepared.filter((p): p is Sealed => !('done' in p));
      if (sealed.length < PARALLEL_FROM || !cipher.available()) return prepared.map(opened);
      let plaintexts: Array<Buffer | undefined> = [];
      try {
        plaintexts = await cipher.open(sealed.map((p) => p.item));
      } catch {
        // The worker failed (and is given up): this page is opened here.
      }
      let i = 0;
      return prepared.map((p) => {
        if ('done' in p) return p.done;
        const plaintext = plaintexts[i++];
        return plaintext ? finish(p.type, p.meta, plaintext) : opened(p);
      });
    },
  };

  /** An event's bytes taken as far as they go without the cipher: decoded, or its sealed part with its key. */
  function prepare(id: string, type: string, data: Uint8Array, metadata: Uint8Array): Prepared {
    const meta = decodeMetadata(metadata);
    const parts = sealedParts(data);
    if (!parts) return { done: finish(type, meta, data) };
    const key = keys?.dataKey(parts.header.kid);
    if (!key) {
      const ids = Object.fromEntries(CLEAR_IDS.filter((f) => parts.header[f] !== undefined).map((f) => [f, parts.header[f]]));
      return { done: { data: { erased: true, ...ids }, metadata: meta, erased: true } };
    }
    return { type, meta, item: { kid: parts.header.kid, key, sealed: parts.sealed, aad: aadOf(id, type) } };
  }
}

/** A sealed event's metadata, decoded, and its data still to open. */
interface Sealed {
  readonly type: string;
  readonly meta: EventMetadata;
  readonly item: SealedItem;
}
type Prepared = { readonly done: DecodedEvent } | Sealed;

/** Data in clear, or opened: parsed and brought forward to its type's current version. */
function finish(type: string, meta: EventMetadata, bytes: Uint8Array): DecodedEvent {
  const raw: unknown = JSON.parse(utf8.decode(bytes));
  return { data: isEventType(type) ? upcast(type, meta.schemaVersion, raw) : raw, metadata: meta };
}

function opened(p: Prepared): DecodedEvent {
  return 'done' in p ? p.done : finish(p.type, p.meta, openBytes(p.item.key, p.item.sealed, p.item.aad));
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

export function caseSealer(keys: KeyStore, cipher: CipherThread = sharedThread): CaseSealer {
  const keyOf = (caseId: string) => {
    const key = keys.keyOfCase(caseId);
    if (!key) throw new Error(`no data key for case ${caseId}: an erased case's views hold no personal data and are not sealed`);
    return key;
  };
  return {
    seal(caseId, context, text) {
      const key = keyOf(caseId);
      return sealBytes(key.key, text, `${caseId}\u0000${context}`, kidPrefix(key.id));
    },
    // Where the worker is not there, the cipher thread seals in this thread itself.
    sealSoon(caseId, context, text) {
      const key = keyOf(caseId);
      return cipher.sealSoon({ kid: key.id, key: key.key, text, aad: `${caseId}\u0000${context}`, prefix: kidPrefix(key.id) });
    },
    dropSoon: () => cipher.dropPending(),
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
