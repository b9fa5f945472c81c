import { ANY, type AppendResult, EventStoreDBClient, MaxAppendSizeExceededError, NO_STREAM, STREAM_EXISTS, WrongExpectedVersionError } from '@eventstore/db-client';
import { StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { type ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Position } from '../../events/event-store';

/*
 * A double of EventStoreDB for the adapter's tests, placed at the gRPC boundary so that the REAL
 * @eventstore/db-client 6.2.1 runs on top of it: its readStream/readAll/subscribeToAll build
 * their real ReadReq, call `callArguments` (so the deadline they pass can be observed), and read
 * the answer through their real ReadStream and Subscription classes
 * (dist/streams/utils/ReadStream.js, Subscription.js: `_transform`, the `checkpointReached`
 * callback, the 'caughtUp' event, convertGrpcEvent and its JSON parsing of custom metadata).
 * Only two things are replaced on the client instance: `GRPCStreamCreator` (the gRPC channel)
 * and `appendToStream` (whose batch-append path needs the server's capabilities call).
 *
 * The in-memory server answers as the KurrentDB server does, as far as the adapter depends on
 * it (the server's behaviour is taken from its source and release notes; see
 * docs/EVENTSTOREDB-ADAPTER.md for what only a real server can confirm):
 * - a read of $all forwards from a position includes the event at that position; backwards it
 *   returns the events before it; a read of a missing stream answers StreamNotFound;
 * - a subscription to $all resumes after the position given (exclusive), sends a confirmation,
 *   the past, a checkpoint every checkpointIntervalMultiplier × 32 events scanned (matching
 *   or not), then (24.10.5 and later) a checkpoint at the end of the log and caughtUp, then
 *   live events;
 * - appends: expected revision, idempotency by event ids at a numeric revision or no-stream,
 *   MaxAppendSize measured as data + metadata + 2 × type length (Event.SizeOnDisk, 24.10.4+);
 * - errors as grpc-js surfaces them: on a status other than OK, `push(null)` then 'error' with
 *   `code`, `details` and `metadata` (client.js makeServerStreamRequest); `cancel()` ends the
 *   call with CANCELLED "Cancelled on client", which the client swallows.
 */

export interface RecordedEvent {
  readonly stream: string;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
  readonly revision: bigint;
  readonly position: Position;
}

type OutboxItem = ReadResp | { readonly end: true } | { readonly error: Error };

/** A grpc-js ClientReadableStream: one message per `_read` (startRead), push(null) then 'error' on a failed status. */
export class FakeCall extends Readable {
  private readonly outbox: OutboxItem[] = [];
  private wanting = false;
  private finished = false;
  cancelled = false;

  constructor(
    readonly method: string,
    private readonly onFinish: () => void = () => undefined,
  ) {
    super({ objectMode: true });
  }

  /** Everything the server sent so far has been read by the client. */
  get drained(): boolean {
    return this.outbox.length === 0 && this.readableLength === 0;
  }

  send(item: OutboxItem): void {
    if (this.finished) return;
    this.outbox.push(item);
    if (this.wanting) this.deliver();
  }

  override _read(): void {
    this.wanting = true;
    this.deliver();
  }

  private deliver(): void {
    const item = this.outbox.shift();
    if (!item) return;
    this.wanting = false;
    // The status (trailers) comes after the messages, in a later turn of the event loop.
    if ('end' in item) return void setImmediate(() => this.finish());
    if ('error' in item) return void setImmediate(() => this.finish(item.error));
    this.push(item);
  }

  private finish(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.outbox.length = 0;
    this.onFinish();
    if (this.destroyed) return;
    this.push(null);
    if (error) this.emit('error', error);
  }

  cancel(): void {
    if (this.finished) return;
    this.cancelled = true;
    this.finish(serviceError(GrpcStatus.CANCELLED, 'Cancelled on client'));
  }

  /** The server fails the call now (connection lost, node shut down, access denied...). */
  fail(error: Error): void {
    this.finish(error);
  }
}

/** An error as grpc-js makes it from a status (call.js callErrorFromStatus). */
export function serviceError(code: GrpcStatus, details: string, exception?: string): Error {
  const metadata = new Metadata();
  if (exception) metadata.set('exception', exception);
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata });
}

interface Filter {
  readonly prefixes?: readonly string[];
  readonly typeRegex?: RegExp;
  /** Events scanned between checkpoints: multiplier × max search window (32 by default). */
  readonly interval: number;
}

interface Live {
  readonly call: FakeCall;
  readonly filter: Filter | undefined;
  scanned: number;
  /** Messages sent so far, and an error to end the call with after `failAfter` of them. */
  sent: number;
}

const compare = (a: Position, b: Position) => (a.commit === b.commit ? (a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1) : a.commit < b.commit ? -1 : 1);

export class EsdbServerDouble {
  readonly log: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private nextPosition = 1_000n;
  private readonly live = new Set<Live>();
  /** Every call the client made, with the deadline it passed to grpc. */
  readonly calls: Array<{ readonly method: string; readonly deadline: unknown }> = [];
  /** The filter of every subscription, as the server understood the request. */
  readonly filters: Array<Filter | undefined> = [];
  /** Every call opened, in order. */
  readonly opened: FakeCall[] = [];
  /** Reads (not subscriptions) get no answer at all: a stalled node, a partition without reset. */
  stallReads = false;
  /** Every read and subscription fails at once with this error. */
  failCallsWith: Error | undefined;
  /** Subscriptions fail with `error` after `after` messages. */
  failSubscriptions: { readonly after: number; readonly error: Error } | undefined;
  /** The next head reads (backwards reads of $all) fail with this error. */
  failBackwardReadsWith: Error | undefined;
  /** Subscriptions get no caughtUp (servers before 23.10). */
  sendCaughtUp = true;
  /** A recognised retry answers with its position (otherwise without, as the adapter must allow). */
  positionOnRecognisedRetry = false;
  maxAppendSize = 1024 * 1024;
  /** Called before each append; an error returned is thrown instead of appending. */
  beforeAppend: ((stream: string) => Error | undefined) | undefined;
  /**
   * `throwOnAppendFailure=false` in the connection string: a wrong expected revision resolves
   * as 6.2.1's batch path resolves it (streams/appendToStream/batchAppend.js), `success: false`
   * with `nextExpectedRevision` BigInt(hasCurrentStreamRevision()): 1n when the stream exists,
   * -1n when it does not, whatever its revision.
   */
  throwOnAppendFailure = true;

  /** A client 6.2.1 whose gRPC calls this server answers. */
  client(): EventStoreDBClient {
    const client = EventStoreDBClient.connectionString('esdb://double.invalid:2113?tls=false');
    const internals = client as unknown as {
      GRPCStreamCreator: (grpcClient: unknown, name: string, creator: (c: unknown) => unknown) => () => Promise<unknown>;
      appendToStream: unknown;
    };
    const grpc = { read: (request: ReadReq, _metadata: unknown, options: { deadline?: unknown }) => this.read(request, options) };
    internals.GRPCStreamCreator = (_grpcClient, _name, creator) => async () => creator(grpc);
    internals.appendToStream = (stream: string, events: unknown, options: { expectedRevision?: unknown; deadline?: number } = {}) => this.appendToStream(stream, events, options);
    return client;
  }

  /** Appends as another writer would (another application, the server itself): bytes as given. */
  write(stream: string, type: string, data: unknown = {}, metadata: unknown = {}): RecordedEvent {
    const existing = this.streams.get(stream) ?? [];
    const record: RecordedEvent = {
      stream,
      id: randomUUID(),
      type,
      contentType: 'application/json',
      data: Buffer.from(JSON.stringify(data)),
      metadata: Buffer.from(JSON.stringify(metadata)),
      revision: BigInt(existing.length),
      position: this.take(),
    };
    this.commit([record]);
    return record;
  }

  private take(): Position {
    const p = this.nextPosition;
    this.nextPosition += 137n;
    return { commit: p, prepare: p };
  }

  private commit(records: RecordedEvent[]): void {
    for (const r of records) {
      const list = this.streams.get(r.stream) ?? [];
      list.push(r);
      this.streams.set(r.stream, list);
      this.log.push(r);
    }
    for (const live of this.live) for (const r of records) this.scan(live, r);
  }

  /** streams/appendToStream: expected revision, idempotency by id, MaxAppendSize. */
  async appendToStream(stream: string, input: unknown, options: { expectedRevision?: unknown; deadline?: number }): Promise<AppendResult> {
    this.calls.push({ method: 'appendToStream', deadline: options.deadline });
    const refused = this.beforeAppend?.(stream);
    if (refused) throw refused;
    const expected = options.expectedRevision ?? ANY;
    const events = (Array.isArray(input) ? input : [input]) as Array<{ id: string; type: string; contentType: string; data: unknown; metadata?: unknown }>;
    const bytes = events.map((e) => ({
      ...e,
      data: e.data instanceof Uint8Array ? e.data : Buffer.from(JSON.stringify(e.data)),
      metadata: e.metadata instanceof Uint8Array ? e.metadata : e.metadata === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(e.metadata)),
    }));
    const size = bytes.reduce((s, e) => s + e.data.length + e.metadata.length + e.type.length * 2, 0);
    if (size > this.maxAppendSize) throw MaxAppendSizeExceededError.fromMaxAppendSize(this.maxAppendSize);
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length ? BigInt(existing.length - 1) : undefined;
    const wrong = () => new WrongExpectedVersionError(undefined, { streamName: stream, expected: expected as bigint, current: current ?? NO_STREAM });
    const refuse = (): AppendResult => {
      if (this.throwOnAppendFailure) throw wrong();
      return { success: false, nextExpectedRevision: current === undefined ? -1n : 1n, position: undefined };
    };
    const first = existing.findIndex((e) => e.id === events[0]!.id);
    if (first >= 0) {
      // A retry: recognised when the same ids are where the expected revision puts them.
      const start = expected === NO_STREAM ? 0 : typeof expected === 'bigint' ? Number(expected) + 1 : first;
      const same = events.every((e, i) => existing[start + i]?.id === e.id);
      if (!same) return refuse();
      const last = existing[start + events.length - 1]!;
      return { success: true, nextExpectedRevision: last.revision, position: this.positionOnRecognisedRetry ? last.position : undefined };
    }
    if (expected === NO_STREAM ? current !== undefined : expected === STREAM_EXISTS ? current === undefined : typeof expected === 'bigint' && current !== expected) return refuse();
    const records = bytes.map((e, i) => ({
      stream,
      id: e.id,
      type: e.type,
      contentType: e.contentType,
      data: e.data,
      metadata: e.metadata,
      revision: BigInt(existing.length + i),
      position: this.take(),
    }));
    this.commit(records);
    const last = records[records.length - 1]!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  /** StreamsClient.read: what readStream, readAll and subscribeToAll call. */
  read(request: ReadReq, callOptions: { deadline?: unknown } = {}): FakeCall {
    const options = request.getOptions()!;
    const method = options.hasSubscription() ? 'subscribeToAll' : options.hasStream() ? 'readStream' : options.getReadDirection() === 1 ? 'readAll-backwards' : 'readAll';
    this.calls.push({ method, deadline: callOptions.deadline });
    let live: Live | undefined;
    const call = new FakeCall(method, () => live && this.live.delete(live));
    this.opened.push(call);
    if (this.failCallsWith) {
      call.send({ error: this.failCallsWith });
      return call;
    }
    if (options.hasSubscription()) {
      live = this.subscribe(options, call);
      return call;
    }
    if (this.stallReads) return call;
    if (method === 'readAll-backwards' && this.failBackwardReadsWith) {
      call.send({ error: this.failBackwardReadsWith });
      return call;
    }
    const count = Number(options.getCount());
    const backwards = options.getReadDirection() === 1;
    if (options.hasStream()) {
      const so = options.getStream()!;
      const name = Buffer.from(so.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
      const events = this.streams.get(name);
      if (!events) {
        call.send(new ReadResp().setStreamNotFound(new ReadResp.StreamNotFound().setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(name)))));
      } else {
        const from = so.hasStart() ? 0n : so.hasEnd() ? BigInt(events.length - 1) : BigInt(so.getRevision());
        const chosen = backwards ? events.filter((e) => e.revision <= from).reverse() : events.filter((e) => e.revision >= from);
        for (const e of chosen.slice(0, count)) call.send(eventResp(e));
      }
    } else {
      const all = options.getAll()!;
      const at = all.hasPosition() ? { commit: BigInt(all.getPosition()!.getCommitPosition()), prepare: BigInt(all.getPosition()!.getPreparePosition()) } : undefined;
      let chosen: RecordedEvent[];
      if (backwards) chosen = (all.hasEnd() || !at ? [...this.log] : this.log.filter((e) => compare(e.position, at) < 0)).reverse();
      else chosen = all.hasStart() || !at ? this.log : this.log.filter((e) => compare(e.position, at) >= 0);
      for (const e of chosen.slice(0, count)) call.send(eventResp(e));
    }
    call.send({ end: true });
    return call;
  }

  private subscribe(options: ReadReq.Options, call: FakeCall): Live {
    const all = options.getAll()!;
    const f = options.hasFilter() ? options.getFilter()! : undefined;
    const filter: Filter | undefined = f && {
      prefixes: f.hasStreamIdentifier() ? f.getStreamIdentifier()!.getPrefixList() : undefined,
      typeRegex: f.hasEventType() && f.getEventType()!.getRegex() ? new RegExp(f.getEventType()!.getRegex()) : undefined,
      interval: f.getCheckpointintervalmultiplier() * (f.hasMax() ? f.getMax() : 32),
    };
    const live: Live = { call, filter, scanned: 0, sent: 0 };
    this.filters.push(filter);
    this.sendTo(live, new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())));
    const after = all.hasPosition() ? { commit: BigInt(all.getPosition()!.getCommitPosition()), prepare: BigInt(all.getPosition()!.getPreparePosition()) } : undefined;
    const past = all.hasEnd() ? [] : after ? this.log.filter((e) => compare(e.position, after) > 0) : this.log;
    for (const record of past) this.scan(live, record);
    const last = this.log.at(-1);
    if (filter && last && past.length) this.sendTo(live, checkpointResp(last.position));
    if (this.sendCaughtUp) this.sendTo(live, new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));
    this.live.add(live);
    return live;
  }

  private scan(live: Live, record: RecordedEvent): void {
    live.scanned++;
    const f = live.filter;
    const matches = !f || ((!f.prefixes?.length || f.prefixes.some((p) => record.stream.startsWith(p))) && (!f.typeRegex || f.typeRegex.test(record.type)));
    if (matches) this.sendTo(live, eventResp(record));
    if (f && live.scanned % f.interval === 0) this.sendTo(live, checkpointResp(record.position));
  }

  private sendTo(live: Live, message: ReadResp): void {
    live.call.send(message);
    live.sent++;
    if (this.failSubscriptions && live.sent >= this.failSubscriptions.after) live.call.send({ error: this.failSubscriptions.error });
  }

  /** Ends every live subscription with an error (node restart, leader change). */
  dropSubscriptions(error: Error): void {
    for (const live of this.live) live.call.fail(error);
  }

  get liveSubscriptions(): number {
    return this.live.size;
  }
}

function eventResp(e: RecordedEvent): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(new UUID().setString(e.id))
    .setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(e.stream)))
    .setStreamRevision(e.revision.toString())
    .setCommitPosition(e.position.commit.toString())
    .setPreparePosition(e.position.prepare.toString())
    .setCustomMetadata(e.metadata)
    .setData(e.data);
  recorded
    .getMetadataMap()
    .set('type', e.type)
    .set('content-type', e.contentType)
    .set('created', (BigInt(Date.now()) * 10_000n).toString());
  return new ReadResp().setEvent(new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(e.position.commit.toString()));
}

function checkpointResp(p: Position): ReadResp {
  return new ReadResp().setCheckpoint(new ReadResp.Checkpoint().setCommitPosition(p.commit.toString()).setPreparePosition(p.prepare.toString()));
}
