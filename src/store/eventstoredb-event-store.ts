/**
 * The EventStoreDB (KurrentDB) adapter of the event store port, through @eventstore/db-client
 * 6.2.1. This is the only file that imports the client, so moving to its renamed successor
 * @kurrent/kurrentdb-client costs this file. Facts relied on are in ../shared/docs/
 * EVENTSTOREDB.md and the client's own code (node_modules/@eventstore/db-client/dist); it is
 * tested against the real client running over an in-memory server double
 * (test/store/esdb-client-double.ts). docs/EVENTSTOREDB-ADAPTER.md says what only a real
 * server can show.
 */
import {
  ANY,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  BACKWARDS,
  binaryEvent,
  END,
  ErrorType,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  isCommandError,
  jsonEvent,
  NO_STREAM,
  type Position as EsdbPosition,
  START,
  streamNameFilter,
  type WrongExpectedVersionError,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { STREAM_PREFIXES } from '../../events/streams';
import { createCodec } from './codec';
import {
  type AppendResult,
  comparePositions,
  type EventStore,
  type EventCodec,
  type EventToAppend,
  type ExpectedRevision,
  FatalStoreError,
  type Position,
  type RawEvent,
  type ReadAllOptions,
  StoreUnavailableError,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionMessage,
  WrongExpectedRevisionError,
} from '../../events/event-store';

/** What of the client the adapter uses: a test passes a double of it (EventStoreDbOptions.client). */
export type EsdbClient = Pick<EventStoreDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'>;

export interface EventStoreDbOptions {
  readonly codec?: EventCodec;
  /**
   * A filtered subscription reports a checkpoint every `checkpointInterval` × 32 events the
   * server scans (EVENTSTOREDB.md), matching or not. Default 32: one per 1,024 events, so that
   * a catch-up is not cut into transactions of 32 events; the server (24.10.5 and later) also
   * sends one when the subscription goes live, whatever the interval.
   */
  readonly checkpointInterval?: number;
  /** How many times an append whose outcome is unknown (deadline, unavailable) is sent again; never with 'any'. */
  readonly appendRetries?: number;
  /**
   * Deadline of one call, ms. The client honours it for appends; for reads 6.2.1 passes
   * `deadline: Infinity` whatever it is given (streams/readAll.js, readStream.js), so the adapter
   * keeps it with its own timer, which cancels the read.
   */
  readonly deadline?: number;
  /** The streams that count for headPosition(): the ledger's own (events/streams.ts). */
  readonly headPrefixes?: readonly string[];
  /** Bytes; the server's MaxAppendSize, 1 MiB by default. */
  readonly maxAppendSize?: number;
  /** Events per page of a $all read. */
  readonly readPageSize?: number;
  /** Events and markers a subscription holds for its consumer before it stops reading. */
  readonly subscriptionBuffer?: number;
  /** The client, when not made from the connection string (tests pass a double). */
  readonly client?: EsdbClient;
}

/** The server's default MaxAppendSize (1 MiB). */
export const DEFAULT_MAX_APPEND_SIZE = 1024 * 1024;

/** 6.2.1 parses only esdb:// and esdb+discover://; KurrentDB's names mean the same. */
export function toEsdbConnectionString(url: string): string {
  return url.replace(/^(kurrentdb|kurrent)(\+discover)?:\/\//, (_m, _name, discover: string | undefined) => `esdb${discover ?? ''}://`);
}

export function toEsdbExpectedRevision(expected: ExpectedRevision): typeof ANY | typeof NO_STREAM | bigint {
  return expected === 'any' ? ANY : expected === 'no-stream' ? NO_STREAM : expected;
}

/** The client reports the current revision as a bigint, or NO_STREAM when there is none. */
export function fromEsdbWrongExpectedVersion(stream: string, expected: ExpectedRevision, error: Pick<WrongExpectedVersionError, 'actualVersion'>): WrongExpectedRevisionError {
  const actual = typeof error.actualVersion === 'bigint' ? error.actualVersion : 'no-stream';
  return new WrongExpectedRevisionError(stream, expected, actual);
}

/**
 * A batch append the server refused before handling it ("Server Is Not Ready", "Server Is
 * Busy", no leader yet) comes as a google.rpc.Status the client does not recognise: UnknownError
 * "Could not recognize <message>" (streams/appendToStream/unpackError.js).
 */
const NOT_HANDLED = /Server Is (Not Ready|Busy)|No leader info available/;

/** Outcome unknown: the same append (same ids, same expected revision) may be sent again. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof Error &&
    isCommandError(error) &&
    !isFatal(error) &&
    ([ErrorType.DEADLINE_EXCEEDED, ErrorType.UNAVAILABLE, ErrorType.TIMEOUT, ErrorType.NOT_LEADER, ErrorType.CANCELLED].includes(error.type) ||
      (error.type === ErrorType.UNKNOWN && NOT_HANDLED.test(error.message)))
  );
}

/**
 * What a retry cannot fix. Access denied: the client maps the server's `access-denied` and
 * gRPC UNAUTHENTICATED both to AccessDeniedError (utils/CommandError.js). TLS: grpc-js reports
 * a refused certificate as UNAVAILABLE "No connection established. Last error: <the TLS
 * error>", and the client throws a plain Error when the tlsCAFile is missing.
 */
export function isFatal(error: unknown): boolean {
  if (error instanceof FatalStoreError) return true;
  if (!(error instanceof Error)) return false;
  if (isCommandError(error) && error.type === ErrorType.ACCESS_DENIED) return true;
  return /certificate|self[- ]signed|altnames|unable to verify|wrong version number|SSL routines|ERR_SSL|CERT_/i.test(error.message);
}

/** The port's error for a failure of the client: fatal, unavailable, or as it is. */
export function toStoreError(error: unknown, doing: string): unknown {
  if (error instanceof FatalStoreError || error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isFatal(error)) return new FatalStoreError(`EventStoreDB: ${doing} cannot succeed: ${message}`, { cause: error });
  if (isTransient(error)) return new StoreUnavailableError(`EventStoreDB: ${doing} failed: ${message}`, { cause: error });
  return error;
}

/** The server's size of an append (Event.SizeOnDisk since 24.10.4): data + metadata + 2 × type length. */
export function appendSize(events: ReadonlyArray<{ type: string; data: Uint8Array; metadata: Uint8Array }>): number {
  return events.reduce((sum, e) => sum + e.data.length + e.metadata.length + e.type.length * 2, 0);
}

const isSystemStream = (stream: string) => stream.startsWith('$');
/** The server's own event types ($streamDeleted, $>, $metadata): never written through the codec. */
const isSystemType = (type: string) => type.startsWith('$');

/**
 * Metadata is written as the codec's JSON behind a UTF-8 byte order mark. The client parses any
 * custom metadata that JSON.parse accepts and hands back an object (utils/convertGrpcEvent.js);
 * with the mark JSON.parse refuses it and the client hands back the bytes themselves, so what is
 * read is exactly what was written: the auditors' Merkle leaves cover the bytes written, never
 * metadata read back and serialised again. The server and its UI still read it as JSON.
 */
const MARK = Buffer.from([0xef, 0xbb, 0xbf]);
const marked = (metadata: Uint8Array): Buffer => Buffer.concat([MARK, metadata]);
const withoutMark = (metadata: Uint8Array): Uint8Array =>
  metadata.length >= 3 && Buffer.from(metadata.buffer, metadata.byteOffset, 3).equals(MARK) ? metadata.subarray(3) : metadata;

/**
 * An event's bytes as the server holds them. Events written before the mark (and JSON data,
 * which the adapter never writes) come back parsed; they are serialised again, the best there is.
 */
function rawBytes(event: { data: unknown; metadata?: unknown }): { data: Uint8Array; metadata: Uint8Array } {
  return {
    data: event.data instanceof Uint8Array ? event.data : Buffer.from(JSON.stringify(event.data), 'utf8'),
    metadata: event.metadata instanceof Uint8Array ? event.metadata : Buffer.from(JSON.stringify(event.metadata ?? {}), 'utf8'),
  };
}
const toPosition = (p: EsdbPosition): Position => ({ commit: p.commit, prepare: p.prepare });
/** Servers before 24.10.5 could send a checkpoint of (ulong.max, ulong.max): outside the log. */
const ULONG_MAX = 2n ** 64n - 1n;

/** A read the adapter can cancel (the client's ReadStream). */
interface Cancellable extends AsyncIterable<unknown> {
  cancel(): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb' as const;
  private readonly client: EsdbClient;
  private readonly codec: EventCodec;
  private readonly checkpointInterval: number;
  private readonly appendRetries: number;
  private readonly deadline: number;
  private readonly headPrefixes: readonly string[];
  private readonly maxAppendSize: number;
  private readonly readPageSize: number;
  /** @internal */
  readonly subscriptionBuffer: number;

  constructor(connectionString: string, options: EventStoreDbOptions = {}) {
    this.client = options.client ?? connect(connectionString);
    this.codec = options.codec ?? createCodec();
    this.checkpointInterval = options.checkpointInterval ?? 32;
    this.appendRetries = options.appendRetries ?? 3;
    this.deadline = options.deadline ?? 10_000;
    this.headPrefixes = options.headPrefixes ?? Object.values(STREAM_PREFIXES);
    this.maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
    this.readPageSize = options.readPageSize ?? 1_000;
    this.subscriptionBuffer = options.subscriptionBuffer ?? 512;
  }

  async append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new Error('nothing to append');
    // Bytes from the one codec, as binary events: data and metadata are exactly the codec's.
    const encoded = events.map((event) => {
      const e = this.codec.encode(event, stream);
      return { ...e, metadata: marked(e.metadata) };
    });
    const size = appendSize(encoded);
    if (size > this.maxAppendSize) {
      // The server would refuse it (MaxAppendSize); say so before sending it.
      throw new Error(
        `append to ${stream} is ${size} bytes (data + metadata + 2 × type length of ${events.length} events), over EventStoreDB's maximum append size of ${this.maxAppendSize} bytes: nothing was written`,
      );
    }
    const data = encoded.map((e) => binaryEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
    // Idempotency is by event id and is reliable with a numeric revision or NO_STREAM: the same
    // append sent again after an unknown outcome is recognised by the server (EVENTSTOREDB.md).
    // With ANY the server consults only a cache of recent ids, so a retry may write it twice.
    const retries = expected === 'any' ? 0 : this.appendRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.client.appendToStream(stream, data, { expectedRevision: toEsdbExpectedRevision(expected), deadline: this.deadline });
        // throwOnAppendFailure=false (a connection string can set it) resolves a wrong revision
        // instead of throwing it; checked here, it holds for any client however it was made.
        // 6.2.1's batch path carries no usable revision in it (BigInt of a boolean): -1n is none.
        if (result.success === false) {
          throw new WrongExpectedRevisionError(stream, expected, result.nextExpectedRevision >= 0n ? result.nextExpectedRevision : 'no-stream');
        }
        const position = result.position ? toPosition(result.position) : await this.positionAt(stream, result.nextExpectedRevision);
        return { nextExpectedRevision: result.nextExpectedRevision, position };
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError) throw error;
        if (error instanceof Error && isCommandError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION) {
          throw fromEsdbWrongExpectedVersion(stream, expected, error);
        }
        if (error instanceof Error && isCommandError(error) && error.type === ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED) {
          const max = (error as { maxAppendSize?: number }).maxAppendSize;
          throw new Error(`append to ${stream} is over EventStoreDB's maximum append size${max ? ` of ${max} bytes` : ''}: nothing was written`, { cause: error });
        }
        if (!isTransient(error) || attempt >= retries) {
          throw isTransient(error) ? new StoreUnavailableError('EventStoreDB did not confirm the append', { cause: error }) : toStoreError(error, `append to ${stream}`);
        }
        await new Promise((r) => setTimeout(r, 100 * 3 ** attempt));
      }
    }
  }

  /**
   * A retried append the server recognised may come back without a position: read the event at
   * the revision it answered (the last of this append), not the stream's last event, which may
   * be someone else's later append.
   */
  private async positionAt(stream: string, revision: bigint): Promise<Position> {
    const found = await this.reading(
      `read of ${stream}@${revision}`,
      () => this.client.readStream(stream, { direction: FORWARDS, fromRevision: revision, maxCount: 1 }),
      async (reading) => {
        for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
          if (resolved.event?.revision === revision && resolved.event.position) return toPosition(resolved.event.position);
        }
        return undefined;
      },
    );
    if (!found) throw new Error(`no position for ${stream}@${revision}`);
    return found;
  }

  /**
   * Every event of the stream, including those whose type this version does not know: they
   * still count for revisions (a writer appending after them must expect their revision, or a
   * rolling upgrade loops on wrong expected revisions). The codec hands their data back as
   * stored (parsed JSON, not upcast); the decider's fold ignores what it does not know.
   */
  async readStream(stream: string, options: { fromRevision?: bigint } = {}): Promise<StoredEvent[]> {
    return this.reading(
      `read of ${stream}`,
      () => this.client.readStream(stream, { direction: FORWARDS, fromRevision: options.fromRevision ?? START }),
      async (reading) => {
        const events: StoredEvent[] = [];
        try {
          for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
            if (resolved.event) events.push(this.decode(resolved));
          }
        } catch (error) {
          // A stream that does not exist reads as empty (the port's contract).
          if (error instanceof Error && isCommandError(error) && error.type === ErrorType.STREAM_NOT_FOUND) return [];
          throw error;
        }
        return events;
      },
    );
  }

  /**
   * 6.2.1's readAll has no server-side filter: system streams and events and other prefixes
   * are skipped here. Types this version does not know are delivered, as the embedded store
   * delivers them (a newer version's events during a rolling upgrade). $all is read from a
   * position inclusively (the server includes
   * the event at the position given), the port's `after` is exclusive: on every page, events at
   * or before the page's start are skipped, so a page boundary is never delivered twice.
   */
  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    return this.scanAll(options, (resolved) => this.decode(resolved));
  }

  async readRaw(options: ReadAllOptions): Promise<RawEvent[]> {
    return this.scanAll(options, (resolved) => {
      const event = resolved.event!;
      return { id: event.id, stream: event.streamId, type: event.type, revision: event.revision, position: toPosition(event.position), raw: rawBytes(event) };
    });
  }

  private async scanAll<T>(options: ReadAllOptions, map: (resolved: AllStreamResolvedEvent) => T): Promise<T[]> {
    const events: T[] = [];
    let from: Position | undefined = options.after;
    for (;;) {
      const start = from;
      const page = await this.reading(
        'read of $all',
        () => this.client.readAll({ direction: FORWARDS, fromPosition: start ?? START, maxCount: this.readPageSize }),
        async (reading) => {
          let seen = 0;
          let last: Position | undefined;
          for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
            seen++;
            const event = resolved.event;
            if (!event?.position) continue;
            const position = toPosition(event.position);
            if (start && comparePositions(position, start) <= 0) continue;
            last = position;
            if (!this.wanted(event.streamId, event.type, options.streamPrefixes)) continue;
            events.push(map(resolved));
            if (events.length >= options.maxCount) return { done: true, last };
          }
          return { done: seen < this.readPageSize || !last, last };
        },
      );
      if (page.done) return events;
      from = page.last;
    }
  }

  subscribe(options: SubscribeOptions): Subscription {
    return new EsdbSubscription(this, options);
  }

  /**
   * The position of the last event in the ledger's own streams (`headPrefixes`): another
   * application's events in the same server must not keep read-your-writes waiting for a
   * position the ledger's subscription never delivers. 6.2.1 cannot filter a read of $all on
   * the server, so this reads $all backwards, page by page, until it meets one.
   */
  async headPosition(): Promise<Position | undefined> {
    return this.lastPositionIn(this.headPrefixes);
  }

  /** @internal the last position of an event in streams with these prefixes (any non-system stream without). */
  async lastPositionIn(prefixes: readonly string[] | undefined): Promise<Position | undefined> {
    let from: Position | undefined;
    for (;;) {
      const start = from;
      const page = await this.reading(
        'read of the head of $all',
        () => this.client.readAll({ direction: BACKWARDS, fromPosition: start ?? END, maxCount: this.readPageSize }),
        async (reading) => {
          let seen = 0;
          let last: Position | undefined;
          for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
            seen++;
            const event = resolved.event;
            if (!event?.position) continue;
            const position = toPosition(event.position);
            // The page's start itself may come again: it was looked at on the page before.
            if (start && comparePositions(position, start) >= 0) continue;
            last = position;
            if (!isSystemStream(event.streamId) && !isSystemType(event.type) && (!prefixes || prefixes.some((p) => event.streamId.startsWith(p)))) return { found: position };
          }
          return { end: seen < this.readPageSize || !last, last };
        },
      );
      if ('found' in page) return page.found;
      if (page.end) return undefined;
      from = page.last;
    }
  }

  async ping(): Promise<void> {
    await this.reading(
      'ping',
      () => this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }),
      async (reading) => {
        for await (const _ of reading) break;
      },
      Math.min(this.deadline, 2_000),
    );
  }

  /**
   * The log's identity: one event in the stream `ledger-identity` (outside the ledger's
   * prefixes), written with NO_STREAM by whichever instance comes first and read by the others.
   */
  async identity(): Promise<string> {
    const stream = 'ledger-identity';
    const read = () =>
      this.reading(
        `read of ${stream}`,
        () => this.client.readStream(stream, { direction: FORWARDS, fromRevision: START, maxCount: 1 }),
        async (reading): Promise<string | undefined> => {
          try {
            for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
              const id = (resolved.event?.data as { id?: unknown } | undefined)?.id;
              if (typeof id === 'string') return id;
            }
          } catch (error) {
            if (!(error instanceof Error && isCommandError(error) && error.type === ErrorType.STREAM_NOT_FOUND)) throw error;
          }
          return undefined;
        },
      );
    const known = await read();
    if (known) return known;
    try {
      await this.client.appendToStream(stream, jsonEvent({ type: 'LedgerIdentified', data: { id: randomUUID() } }), { expectedRevision: NO_STREAM, deadline: this.deadline });
    } catch (error) {
      // Another instance wrote it first: read theirs.
      if (!(error instanceof Error && isCommandError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION)) throw toStoreError(error, 'the ledger identity');
    }
    const written = await read();
    if (!written) throw new Error('EventStoreDB holds no ledger identity');
    return written;
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /**
   * A read with a deadline the adapter keeps itself (6.2.1 reads have none, see `deadline`):
   * when it passes, the read is cancelled and StoreUnavailableError thrown; a cancelled read
   * ends quietly in the client, so its partial result is never taken for the whole.
   */
  private async reading<T>(what: string, open: () => unknown, consume: (reading: AsyncIterable<unknown>) => Promise<T>, ms = this.deadline): Promise<T> {
    let reading: Cancellable;
    try {
      reading = open() as Cancellable;
    } catch (error) {
      throw toStoreError(error, what);
    }
    // An 'error' after the consumer stopped listening must not crash the process.
    reading.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void reading.cancel().catch(() => undefined);
        reject(new StoreUnavailableError(`EventStoreDB did not answer the ${what} within ${ms} ms`));
      }, ms);
      // The read's own call keeps the process alive while it matters; the timer need not.
      timer.unref();
    });
    const consuming = consume(reading);
    consuming.catch(() => undefined);
    try {
      return await Promise.race([consuming, timedOut]);
    } catch (error) {
      throw toStoreError(error, what);
    } finally {
      clearTimeout(timer);
      // A consumer that stopped early (a page full, the head found) lets the call go.
      void reading.cancel().catch(() => undefined);
    }
  }

  /** @internal a subscription to $all whose checkpoints and caught-up travel in the events' own stream. */
  openSubscription(after: Position | undefined, prefixes: readonly string[] | undefined): AllStreamSubscription {
    // 6.2.1 runs this callback (and emits caughtUp) when Subscription._transform processes the
    // message, while up to a readable buffer's worth of earlier events still wait for the
    // reader. Pushing a marker into that same readable puts it behind them, in order.
    const checkpointReached = (subscription: AllStreamSubscription, position: EsdbPosition) => {
      // A callback that throws stalls the subscription silently (EVENTSTOREDB.md): never let it.
      try {
        subscription.push(new Marker('checkpoint', toPosition(position)));
      } catch {
        // the stream is ending; the next subscription starts again from the last position taken
      }
    };
    const filter = prefixes?.length
      ? streamNameFilter({ prefixes: [...prefixes], checkpointInterval: this.checkpointInterval, checkpointReached })
      : excludeSystemEvents({ checkpointInterval: this.checkpointInterval, checkpointReached });
    // fromPosition resumes after (exclusive) the position given.
    const subscription = this.client.subscribeToAll({ fromPosition: after ?? START, filter });
    subscription.on('caughtUp', () => subscription.push(new Marker('caught-up')));
    subscription.on('fellBehind', () => subscription.push(new Marker('fell-behind')));
    // An 'error' after the reader stopped must not crash the process; the reader sees it too.
    subscription.on('error', () => undefined);
    return subscription;
  }

  /**
   * @internal Every event of the ledger's streams, known type or not (the embedded store
   * delivers them all: the audit follower must see every leaf, the read barrier must reach the
   * head). Only the server's own are skipped: system streams, and `$` types such as a hard
   * delete's `$streamDeleted`, which the codec could not decode.
   */
  wanted(stream: string, type: string, prefixes: readonly string[] | undefined): boolean {
    if (isSystemStream(stream) || isSystemType(type)) return false;
    return !prefixes || prefixes.some((p) => stream.startsWith(p));
  }

  /** @internal decodes a resolved event for $all: undefined for what the port does not carry there. */
  toStored(resolved: AllStreamResolvedEvent): StoredEvent | undefined {
    const event = resolved.event;
    if (!event || isSystemStream(event.streamId) || isSystemType(event.type)) return undefined;
    return this.decode(resolved);
  }

  /** @internal decodes with the one codec; an event it cannot decode is fatal (a retry reads the same bytes). */
  decode(resolved: AllStreamResolvedEvent): StoredEvent {
    const event = resolved.event!;
    // Events read from a stream carry their position on current servers; the commit position
    // of the resolved event stands in where one does not.
    const commit = event.position?.commit ?? resolved.commitPosition ?? 0n;
    const position = event.position ? toPosition(event.position) : { commit, prepare: commit };
    try {
      const raw = rawBytes(event);
      const decoded = this.codec.decode(event.streamId, event.id, event.type, raw.data, withoutMark(raw.metadata));
      return {
        id: event.id,
        stream: event.streamId,
        type: event.type,
        revision: event.revision,
        position,
        data: decoded.data,
        metadata: decoded.metadata,
        ...(decoded.erased ? { erased: true } : {}),
        raw,
      };
    } catch (error) {
      throw new FatalStoreError(`cannot decode ${event.type} ${event.streamId}@${event.revision}: ${(error as Error).message}`, { cause: error });
    }
  }
}

function connect(connectionString: string): EventStoreDBClient {
  try {
    return EventStoreDBClient.connectionString(toEsdbConnectionString(connectionString));
  } catch (error) {
    // A malformed string or a missing certificate file: no retry will find them.
    throw new FatalStoreError(`cannot connect to EventStoreDB: ${(error as Error).message}`, { cause: error });
  }
}

/** A checkpoint, caught-up or fell-behind, pushed into the client's subscription stream between its events. */
class Marker {
  constructor(
    readonly kind: 'checkpoint' | 'caught-up' | 'fell-behind',
    readonly position?: Position,
  ) {}
}

interface Entry {
  readonly message: SubscriptionMessage;
  /** A checkpoint superseded by a later one before the consumer took it. */
  dropped: boolean;
}

/**
 * A catch-up subscription to $all as the port's async iterable. Events, checkpoints and
 * caught-up come through one stream (the client's, see openSubscription) into one bounded queue,
 * in order; a checkpoint still waiting in the queue when a later one arrives is dropped, so a
 * slow consumer gets one checkpoint where many were sent. Every failure ends the iteration with
 * an error after what was already queued: FatalStoreError for what no retry can fix,
 * StoreUnavailableError for a dropped connection or an ended subscription. The consumer (the
 * projection runner) resubscribes from the last position it made durable; this adapter never
 * does it behind its back.
 */
class EsdbSubscription implements Subscription {
  private readonly queue: Entry[] = [];
  private queuedCheckpoint: Entry | undefined;
  private wake: (() => void) | undefined;
  private space: (() => void) | undefined;
  private current: AllStreamSubscription | undefined;
  private closed = false;
  private ended = false;
  private failure: unknown;
  private last: Position | undefined;
  private resolveClosing: () => void = () => undefined;
  /** Resolves when close() is called: no await of the pump outlives it. */
  private readonly closing = new Promise<void>((resolve) => (this.resolveClosing = resolve));
  private readonly pump: Promise<void>;

  constructor(
    private readonly store: EventStoreDbEventStore,
    private readonly options: SubscribeOptions,
  ) {
    this.last = options.after;
    this.pump = this.run();
  }

  private push(message: SubscriptionMessage): void {
    if (message.type === 'checkpoint') {
      if (this.queuedCheckpoint) this.queuedCheckpoint.dropped = true;
      const entry = { message, dropped: false };
      this.queuedCheckpoint = entry;
      this.queue.push(entry);
    } else if (message.type === 'caught-up' && this.queue.at(-1)?.message.type === 'caught-up') {
      return;
    } else {
      this.queue.push({ message, dropped: false });
    }
    this.wake?.();
  }

  /** Backpressure: waits until the consumer has taken enough, or the subscription is closed. */
  private async room(): Promise<void> {
    while (!this.closed && this.queue.length >= this.store.subscriptionBuffer) {
      await new Promise<void>((resolve) => (this.space = resolve));
      this.space = undefined;
    }
  }

  private async run(): Promise<void> {
    const prefixes = this.options.streamPrefixes;
    let subscription: AllStreamSubscription | undefined;
    try {
      // Servers before 23.10 send no caughtUp: reaching the head read now stands in. A head that
      // could not be read stands in for nothing: then only the server's own caughtUp counts.
      const head = await Promise.race([
        this.store.lastPositionIn(prefixes).then(
          (position) => ({ known: true as const, position }),
          () => ({ known: false as const }),
        ),
        this.closing.then(() => ({ known: false as const })),
      ]);
      if (this.closed) return;
      let caughtUp = false;
      const reached = (position: Position | undefined) => {
        if (caughtUp || !head.known) return;
        if (head.position === undefined || (position && comparePositions(position, head.position) >= 0)) {
          caughtUp = true;
          this.push({ type: 'caught-up' });
        }
      };
      reached(this.last);
      subscription = this.store.openSubscription(this.last, prefixes);
      this.current = subscription;
      for await (const item of subscription as AsyncIterable<unknown>) {
        if (this.closed) return;
        if (item instanceof Marker) {
          if (item.kind === 'checkpoint') {
            const position = item.position!;
            const valid = position.commit !== ULONG_MAX && position.prepare !== ULONG_MAX;
            if (valid && (!this.last || comparePositions(position, this.last) > 0)) {
              this.last = position;
              this.push({ type: 'checkpoint', position });
            }
            if (valid) reached(position);
          } else if (item.kind === 'caught-up') {
            if (!caughtUp) this.push({ type: 'caught-up' });
            caughtUp = true;
          } else {
            caughtUp = false;
          }
        } else {
          const resolved = item as AllStreamResolvedEvent;
          const event = resolved.event;
          if (!event?.position) continue;
          const stored = this.store.wanted(event.streamId, event.type, prefixes) ? this.store.decode(resolved) : undefined;
          this.last = toPosition(event.position);
          if (stored) this.push({ type: 'event', event: stored });
          reached(this.last);
        }
        await this.room();
      }
      if (!this.closed) throw new StoreUnavailableError('EventStoreDB ended the subscription');
    } catch (error) {
      if (!this.closed) this.failure = toStoreError(error, 'the subscription to $all') ?? new StoreUnavailableError('the subscription failed');
    } finally {
      this.current = undefined;
      this.ended = true;
      this.wake?.();
      await subscription?.unsubscribe().catch(() => undefined);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    try {
      for (;;) {
        const entry = this.queue.shift();
        if (entry) {
          this.space?.();
          if (entry === this.queuedCheckpoint) this.queuedCheckpoint = undefined;
          if (!entry.dropped) yield entry.message;
          continue;
        }
        if (this.closed) return;
        if (this.ended) {
          if (this.failure !== undefined) throw this.failure instanceof Error ? this.failure : new Error('the subscription failed', { cause: this.failure });
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      // A consumer that stops reading lets go of the server's subscription.
      if (!this.closed && !(this.ended && this.queue.length === 0)) void this.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.resolveClosing();
    this.wake?.();
    this.space?.();
    await this.current?.unsubscribe().catch(() => undefined);
    await this.pump.catch(() => undefined);
  }
}
