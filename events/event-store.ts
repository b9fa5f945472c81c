import type { Category } from './categories';
import type { EventMetadata } from './metadata';

/**
 * The event store port. It lives beside the event catalogue so that the service (src/) and the
 * projections (projections/) both depend on it without projections reaching into the
 * application. Two adapters implement it (src/store/sqlite-event-store.ts, the embedded default,
 * and src/store/eventstoredb-event-store.ts) and one contract suite (test/store/event-store.contract.ts)
 * holds them to the same semantics. An event-sourced stream has two operations: read it, and
 * append to it at an expected revision; the projections add reading and following `$all`.
 */

/**
 * A place in the global log. EventStoreDB positions are a commit and a prepare position; the
 * embedded store has one sequence number and uses it for both.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** Revision of the stream's last event (the first event is revision 0), or what must be true of the stream. */
export type ExpectedRevision = 'any' | 'no-stream' | bigint;

export interface EventToAppend {
  /** A UUID; derived from the command id so that a retried append is recognised (event-ids.ts). */
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  /** Who and when; the codec adds `schemaVersion`. */
  readonly metadata: Omit<EventMetadata, 'schemaVersion'>;
  /** The categories of the event's data, kept in clear beside sealed data (the auditors' export reads them). */
  readonly categories?: readonly Category[];
}

export interface StoredEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly revision: bigint;
  readonly position: Position;
  /** Decoded and brought forward to the current version of its type; `{ erased: true, …ids }` once its person is erased. */
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** Its person was erased: its data key is destroyed and only its structural ids are left. */
  readonly erased?: boolean;
  /** The bytes as stored (sealed data, metadata): what the Merkle log hashes and the ledger copy keeps. */
  readonly raw: { readonly data: Uint8Array; readonly metadata: Uint8Array };
}

/** An event as the store holds it, not decoded: what verification hashes (src/audit). */
export type RawEvent = Pick<StoredEvent, 'id' | 'stream' | 'type' | 'revision' | 'position' | 'raw'>;

/** An event as bytes: what the store writes. */
export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

export interface DecodedEvent {
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly erased?: boolean;
}

/**
 * The one place where an event becomes bytes and bytes become an event again (ARCHITECTURE.md
 * property 8), used by both store adapters and by the projections' copy of the ledger. The
 * implementation (src/store/codec.ts) checks data against its schema, seals personal data per
 * person, and brings old versions forward.
 */
export interface EventCodec {
  encode(event: EventToAppend, stream: string): EncodedEvent;
  decode(stream: string, id: string, type: string, data: Uint8Array, metadata: Uint8Array): DecodedEvent;
  /**
   * The same as decode() on each row, in order, for a page read ahead: a codec may open a large
   * page's sealed data in another thread meanwhile (a catch-up subscription's pages).
   */
  decodeMany?(rows: readonly EncodedEvent[]): Promise<DecodedEvent[]>;
  /**
   * Runs `work`, the encoding of a group of appends inside the store's transaction, so that what
   * encoding writes elsewhere (a new person's data key) is on disk, once for the group, when
   * `work` returns: before the store commits the events that need it. Throws if it cannot be.
   */
  batch?<T>(work: () => T): T;
}

/**
 * How the read models seal what they keep of a case (views, list names, counted codes) under
 * the data key of the case's person, so that destroying it makes them unreadable too; and the
 * keyed pseudonym of a person (never a bare hash of the fiscal code).
 */
export interface CaseSealer {
  /** Throws when the case's person is erased: an erased case's views carry no personal data and are kept as text, `clear:` + text. */
  seal(caseId: string, context: string, text: string): Uint8Array;
  /**
   * The same sealing, handed to another thread: the function returned gives the sealed bytes,
   * waiting for them if need be, so the caller computes more meanwhile (a runner's batch of views).
   */
  sealSoon?(caseId: string, context: string, text: string): () => Uint8Array;
  /** Forgets every text handed to sealSoon() and not taken back: the transaction it was for rolled back. */
  dropSoon?(): void;
  /** The text (sealed bytes, or `clear:` text), or undefined once the case's person is erased. */
  open(caseId: string, context: string, sealed: Uint8Array | string): string | undefined;
  personId(fiscalCode: string): string;
  /** Drops any remembered key of a person (another process erased them). */
  forget(subject: string): void;
}

export interface AppendResult {
  /** The revision of the last event now in the stream: the expected revision of the next append. */
  readonly nextExpectedRevision: bigint;
  /** The position of the last appended event. */
  readonly position: Position;
}

export interface ReadAllOptions {
  /** Exclusive: events after this position. Absent: from the beginning. */
  readonly after?: Position;
  readonly maxCount: number;
  readonly streamPrefixes?: readonly string[];
}

export interface SubscribeOptions {
  /** Exclusive, as EventStoreDB resumes a subscription after the given position. */
  readonly after?: Position;
  readonly streamPrefixes?: readonly string[];
}

/**
 * A catch-up subscription: past events first, then live ones, for as long as it is open.
 * `checkpoint` says the store has looked at everything up to a position, matching or not, so a
 * follower of a filtered subscription can move its checkpoint past events it was not sent.
 * `caught-up` says the past is delivered (it may come again after a burst of live events).
 */
export type SubscriptionMessage =
  { readonly type: 'event'; readonly event: StoredEvent } | { readonly type: 'checkpoint'; readonly position: Position } | { readonly type: 'caught-up' };

export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  close(): Promise<void>;
}

export interface EventStore {
  readonly name: 'sqlite' | 'eventstoredb';
  /**
   * Appends atomically, durably (on disk, or acknowledged by the cluster) before it resolves.
   * Throws WrongExpectedRevisionError and writes nothing when `expected` does not hold, except
   * when the same event ids are already there at that revision: then the append is recognised
   * as a retry and resolves with the original result.
   */
  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /** The stream's events from a revision on; empty when the stream does not exist. */
  readStream(stream: string, options?: { fromRevision?: bigint }): Promise<StoredEvent[]>;
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;
  /**
   * As readAll, without decoding: the bytes exactly as stored, also of an event the codec could
   * not read (an altered one). Auditors' verification reads the ledger this way.
   */
  readRaw(options: ReadAllOptions): Promise<RawEvent[]>;
  subscribe(options: SubscribeOptions): Subscription;
  /** The position of the last event in the store, if any. */
  headPosition(): Promise<Position | undefined>;
  /** Resolves when the store answers; used by readiness. */
  ping(): Promise<void>;
  /**
   * A UUID made when this store's log was created, the same for every reader of that log and
   * different for any other (a wiped server, another data folder): what is derived from one
   * log (the views' checkpoint) must never be resumed against another.
   */
  identity(): Promise<string>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no-stream',
  ) {
    super(`wrong expected revision on ${stream}: expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** The store could not be reached or did not answer in time; the outcome of an append is unknown. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A store failure that retrying cannot fix: access denied or not authenticated, an event this
 * version cannot decode or bring forward, a TLS certificate the client will not trust. A
 * follower that meets one stops (and says so through readiness) instead of resubscribing in a
 * loop; `cause` carries the store's own error.
 */
export class FatalStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalStoreError';
  }
}

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** Positions as text, for checkpoints and JSON: "42" where commit = prepare, else "commit/prepare". */
export function formatPosition(p: Position): string {
  return p.commit === p.prepare ? p.commit.toString() : `${p.commit}/${p.prepare}`;
}

export function parsePosition(text: string): Position {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a position: ${text}`);
  const commit = BigInt(m[1]!);
  return { commit, prepare: m[2] === undefined ? commit : BigInt(m[2]) };
}
