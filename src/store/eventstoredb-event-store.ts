/**
 * The EventStoreDB (KurrentDB) adapter of the event store port, through @eventstore/db-client
 * 6.2.1. This is the only file that imports the client, so moving to its renamed successor
 * @kurrent/kurrentdb-client costs this file. Facts relied on are in ../shared/docs/
 * EVENTSTOREDB.md and the client's type definitions; no server could be run where this was
 * written (docs/EVENTSTOREDB-ADAPTER.md says what that means).
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
import { isEventType } from '../../events';
import { type EventCodec, jsonCodec } from './codec';
import {
  type AppendResult,
  comparePositions,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type ReadAllOptions,
  StoreUnavailableError,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionMessage,
  WrongExpectedRevisionError,
} from '../../events/event-store';

export interface EventStoreDbOptions {
  readonly codec?: EventCodec;
  /**
   * A filtered subscription reports a checkpoint every `checkpointInterval` × 32 events the
   * server scans (EVENTSTOREDB.md), matching or not.
   */
  readonly checkpointInterval?: number;
  /** How many times an append whose outcome is unknown (deadline, unavailable) is sent again. */
  readonly appendRetries?: number;
  /** Deadline of one call, ms. */
  readonly deadline?: number;
}

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

/** Outcome unknown: the same append (same ids, same expected revision) may be sent again. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof Error &&
    isCommandError(error) &&
    [ErrorType.DEADLINE_EXCEEDED, ErrorType.UNAVAILABLE, ErrorType.TIMEOUT, ErrorType.NOT_LEADER, ErrorType.CANCELLED].includes(error.type)
  );
}

const isSystemStream = (stream: string) => stream.startsWith('$');
const toPosition = (p: EsdbPosition): Position => ({ commit: p.commit, prepare: p.prepare });

export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb' as const;
  private readonly client: EventStoreDBClient;
  private readonly codec: EventCodec;
  private readonly checkpointInterval: number;
  private readonly appendRetries: number;
  private readonly deadline: number;

  constructor(connectionString: string, options: EventStoreDbOptions = {}) {
    this.client = EventStoreDBClient.connectionString(toEsdbConnectionString(connectionString));
    this.codec = options.codec ?? jsonCodec;
    this.checkpointInterval = options.checkpointInterval ?? 1;
    this.appendRetries = options.appendRetries ?? 3;
    this.deadline = options.deadline ?? 10_000;
  }

  async append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new Error('nothing to append');
    // Bytes from the one codec, as binary events: data and metadata are exactly the codec's.
    const data = events.map((event) => {
      const encoded = this.codec.encode(event);
      return binaryEvent({ id: encoded.id, type: encoded.type, data: encoded.data, metadata: Uint8Array.from(encoded.metadata) });
    });
    // Idempotency is by event id and is reliable with a numeric revision or NO_STREAM: the same
    // append sent again after an unknown outcome is recognised by the server (EVENTSTOREDB.md).
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.client.appendToStream(stream, data, { expectedRevision: toEsdbExpectedRevision(expected), deadline: this.deadline });
        const position = result.position ? toPosition(result.position) : await this.lastPositionOf(stream);
        return { nextExpectedRevision: result.nextExpectedRevision, position };
      } catch (error) {
        if (error instanceof Error && isCommandError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION) {
          throw fromEsdbWrongExpectedVersion(stream, expected, error);
        }
        if (!isTransient(error) || attempt >= this.appendRetries) {
          throw isTransient(error) ? new StoreUnavailableError('EventStoreDB did not confirm the append', { cause: error }) : error;
        }
        await new Promise((r) => setTimeout(r, 100 * 3 ** attempt));
      }
    }
  }

  /** A retried append the server recognised may come back without a position: read it. */
  private async lastPositionOf(stream: string): Promise<Position> {
    for await (const resolved of this.client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1, deadline: this.deadline })) {
      if (resolved.event?.position) return toPosition(resolved.event.position);
    }
    throw new Error(`no position for ${stream}`);
  }

  async readStream(stream: string, options: { fromRevision?: bigint } = {}): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    try {
      const reading = this.client.readStream(stream, { direction: FORWARDS, fromRevision: options.fromRevision ?? START, deadline: this.deadline });
      for await (const resolved of reading) {
        const stored = this.toStored(resolved as AllStreamResolvedEvent);
        if (stored) events.push(stored);
      }
    } catch (error) {
      // A stream that does not exist reads as empty (the port's contract).
      if (error instanceof Error && isCommandError(error) && error.type === ErrorType.STREAM_NOT_FOUND) return [];
      throw error;
    }
    return events;
  }

  /**
   * 6.2.1's readAll has no server-side filter: system streams, unknown types and other
   * prefixes are skipped here. $all is read from a position inclusively, the port's `after`
   * is exclusive: the event at `after` itself is skipped.
   */
  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    let from: EsdbPosition | typeof START = options.after ?? START;
    const page = 1_000;
    for (;;) {
      let seen = 0;
      let last: Position | undefined;
      for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: page, deadline: this.deadline })) {
        seen++;
        const event = resolved.event;
        if (!event) continue;
        const position = toPosition(event.position);
        last = position;
        if (options.after && comparePositions(position, options.after) <= 0) continue;
        if (!this.wanted(event.streamId, event.type, options.streamPrefixes)) continue;
        const stored = this.toStored(resolved);
        if (stored) events.push(stored);
        if (events.length >= options.maxCount) return events;
      }
      if (seen < page || !last) return events;
      from = last;
    }
  }

  subscribe(options: SubscribeOptions): Subscription {
    return new EsdbSubscription(this, options);
  }

  /** The position of the last event that is not a system event. */
  async headPosition(): Promise<Position | undefined> {
    for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 4_096, deadline: this.deadline })) {
      const event = resolved.event;
      if (event && !isSystemStream(event.streamId)) return toPosition(event.position);
    }
    return undefined;
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, deadline: 2_000 })) break;
  }

  /**
   * The log's identity: one event in the stream `ledger-identity` (outside the ledger's
   * prefixes), written with NO_STREAM by whichever instance comes first and read by the others.
   */
  async identity(): Promise<string> {
    const stream = 'ledger-identity';
    const read = async (): Promise<string | undefined> => {
      try {
        for await (const resolved of this.client.readStream(stream, { direction: FORWARDS, fromRevision: START, maxCount: 1, deadline: this.deadline })) {
          const id = (resolved.event?.data as { id?: unknown } | undefined)?.id;
          if (typeof id === 'string') return id;
        }
      } catch (error) {
        if (!(error instanceof Error && isCommandError(error) && error.type === ErrorType.STREAM_NOT_FOUND)) throw error;
      }
      return undefined;
    };
    const known = await read();
    if (known) return known;
    try {
      await this.client.appendToStream(stream, jsonEvent({ type: 'LedgerIdentified', data: { id: randomUUID() } }), { expectedRevision: NO_STREAM, deadline: this.deadline });
    } catch (error) {
      // Another instance wrote it first: read theirs.
      if (!(error instanceof Error && isCommandError(error) && error.type === ErrorType.WRONG_EXPECTED_VERSION)) throw error;
    }
    const written = await read();
    if (!written) throw new Error('EventStoreDB holds no ledger identity');
    return written;
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** @internal the subscription's access to the client and codec. */
  openSubscription(after: Position | undefined, prefixes: readonly string[] | undefined, onCheckpoint: (position: Position) => void): AllStreamSubscription {
    const checkpointReached = (_: unknown, position: EsdbPosition) => {
      // A callback that throws stalls the subscription silently (EVENTSTOREDB.md): never let it.
      try {
        onCheckpoint(toPosition(position));
      } catch {
        // the queue cannot fail; nothing to do
      }
    };
    const filter = prefixes?.length
      ? streamNameFilter({ prefixes: [...prefixes], checkpointInterval: this.checkpointInterval, checkpointReached })
      : excludeSystemEvents({ checkpointInterval: this.checkpointInterval, checkpointReached });
    // fromPosition resumes after (exclusive) the position given.
    return this.client.subscribeToAll({ fromPosition: after ?? START, filter });
  }

  /** @internal */
  wanted(stream: string, type: string, prefixes: readonly string[] | undefined): boolean {
    if (isSystemStream(stream) || !isEventType(type)) return false;
    return !prefixes || prefixes.some((p) => stream.startsWith(p));
  }

  /** @internal decodes a resolved event with the one codec; undefined for what the port does not carry. */
  toStored(resolved: AllStreamResolvedEvent): StoredEvent | undefined {
    const event = resolved.event;
    if (!event || isSystemStream(event.streamId) || !isEventType(event.type)) return undefined;
    // Events read from a stream carry their position on current servers; the commit position
    // of the resolved event stands in where one does not.
    const commit = event.position?.commit ?? resolved.commitPosition ?? 0n;
    const position = event.position ? toPosition(event.position) : { commit, prepare: commit };
    const data = event.data instanceof Uint8Array ? event.data : Buffer.from(JSON.stringify(event.data), 'utf8');
    // The client hands back custom metadata it could parse as JSON already parsed: bytes again,
    // so that the codec alone decides what they mean.
    const metadata = event.metadata instanceof Uint8Array ? event.metadata : Buffer.from(JSON.stringify(event.metadata ?? {}), 'utf8');
    const decoded = this.codec.decode(event.type, data, metadata);
    return { id: event.id, stream: event.streamId, type: event.type, revision: event.revision, position, data: decoded.data, metadata: decoded.metadata };
  }
}

/**
 * A catch-up subscription to $all as the port's async iterable. Events are consumed with
 * `for await` (the client's readable applies backpressure); checkpoints and caught-up come on
 * the side, through one queue, in order. The client never resubscribes by itself: on an error
 * or an end, this does, after the last position delivered, with a bounded backoff.
 */
class EsdbSubscription implements Subscription {
  private readonly queue: SubscriptionMessage[] = [];
  private wake: (() => void) | undefined;
  private current: AllStreamSubscription | undefined;
  private closed = false;
  private last: Position | undefined;
  private readonly pump: Promise<void>;

  constructor(
    private readonly store: EventStoreDbEventStore,
    private readonly options: SubscribeOptions,
  ) {
    this.last = options.after;
    this.pump = this.run();
  }

  private push(message: SubscriptionMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.closed) {
      // Servers before 23.10 send no caughtUp: the head at (re)subscription time stands in.
      const head = await this.store.headPosition().catch(() => undefined);
      let caughtUp = !head || (this.last !== undefined && comparePositions(this.last, head) >= 0);
      if (caughtUp) this.push({ type: 'caught-up' });
      const reached = (position: Position) => {
        if (!caughtUp && head && comparePositions(position, head) >= 0) {
          caughtUp = true;
          this.push({ type: 'caught-up' });
        }
      };
      const subscription = this.store.openSubscription(this.last, this.options.streamPrefixes, (position) => {
        this.last = position;
        this.push({ type: 'checkpoint', position });
        reached(position);
      });
      this.current = subscription;
      subscription.on('caughtUp', () => {
        if (!caughtUp) {
          caughtUp = true;
          this.push({ type: 'caught-up' });
        }
      });
      try {
        for await (const resolved of subscription) {
          if (this.closed) break;
          const event = resolved.event;
          if (!event?.position) continue;
          const position = { commit: event.position.commit, prepare: event.position.prepare };
          const stored = this.store.wanted(event.streamId, event.type, this.options.streamPrefixes) ? this.store.toStored(resolved) : undefined;
          this.last = position;
          if (stored) this.push({ type: 'event', event: stored });
          reached(position);
          // Backpressure: let the follower drain before reading more.
          while (this.queue.length > 1_000 && !this.closed) await new Promise((r) => setTimeout(r, 5));
          backoff = 100;
        }
      } catch {
        // Dropped (server restart, leader change, network): resubscribe below.
      }
      if (this.closed) break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    while (!this.closed) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.current?.unsubscribe().catch(() => undefined);
    await this.pump.catch(() => undefined);
  }
}
