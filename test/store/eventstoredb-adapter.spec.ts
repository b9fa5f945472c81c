import { DeadlineExceededError, NO_STREAM, ANY, UnavailableError, UnknownError, WrongExpectedVersionError } from '@eventstore/db-client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { createCodec } from '../../src/store/codec';

const jsonCodec = createCodec();
import {
  comparePositions,
  type EventToAppend,
  FatalStoreError,
  StoreUnavailableError,
  type Subscription,
  type SubscriptionMessage,
  WrongExpectedRevisionError,
} from '../../events/event-store';
import {
  EventStoreDbEventStore,
  type EventStoreDbOptions,
  fromEsdbWrongExpectedVersion,
  isTransient,
  toEsdbConnectionString,
  toEsdbExpectedRevision,
} from '../../src/store/eventstoredb-event-store';
import { note } from '../support/events';
import { EsdbServerDouble, serviceError } from './esdb-client-double';

/*
 * What of the EventStoreDB adapter can be checked without a server: the mappings, the
 * decoding of what the client hands back, and the append's retry logic, with the client's own
 * error classes standing in for the server's answers.
 */

type Calls = Array<{ stream: string; ids: string[]; expectedRevision: unknown }>;

function storeWith(appendToStream: (stream: string, events: Array<{ id: string }>, options: { expectedRevision: unknown }) => Promise<unknown>) {
  // The real client over the server double (esdb-client-double.ts), its append replaced.
  const client = new EsdbServerDouble().client();
  const calls: Calls = [];
  (client as unknown as { appendToStream: unknown }).appendToStream = async (stream: string, events: Array<{ id: string }>, options: { expectedRevision: unknown }) => {
    calls.push({ stream, ids: events.map((e) => e.id), expectedRevision: options.expectedRevision });
    return appendToStream(stream, events, options);
  };
  const store = new EventStoreDbEventStore('esdb://localhost:1?tls=false', { appendRetries: 2, client });
  return { store, calls };
}

/** The metadata the adapter wrote, as an object: JSON behind a byte order mark. */
function metadataOf(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(
    Buffer.from(bytes)
      .toString('utf8')
      .replace(/^\uFEFF/, ''),
  ) as Record<string, unknown>;
}

describe('the EventStoreDB adapter, without a server', () => {
  it('accepts KurrentDB connection strings, which client 6.2.1 cannot parse', () => {
    expect(toEsdbConnectionString('kurrentdb://a:2113?tls=false')).toBe('esdb://a:2113?tls=false');
    expect(toEsdbConnectionString('kurrentdb+discover://a:2113,b:2113')).toBe('esdb+discover://a:2113,b:2113');
    expect(toEsdbConnectionString('esdb://a:2113')).toBe('esdb://a:2113');
  });

  it('maps expected revisions to the client constants', () => {
    expect(toEsdbExpectedRevision('any')).toBe(ANY);
    expect(toEsdbExpectedRevision('no-stream')).toBe(NO_STREAM);
    expect(toEsdbExpectedRevision(7n)).toBe(7n);
  });

  it("turns the client's wrong expected version into the port's error, with the actual revision", () => {
    const existing = fromEsdbWrongExpectedVersion('s', 2n, new WrongExpectedVersionError(undefined, { streamName: 's', expected: 2n, current: 5n }));
    expect(existing).toBeInstanceOf(WrongExpectedRevisionError);
    expect(existing.actual).toBe(5n);
    const missing = fromEsdbWrongExpectedVersion('s', 0n, new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: NO_STREAM }));
    expect(missing.actual).toBe('no-stream');
  });

  it('tells an unknown outcome from a refusal', () => {
    expect(isTransient(new DeadlineExceededError())).toBe(true);
    expect(isTransient(new UnavailableError())).toBe(true);
    expect(isTransient(new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: 1n }))).toBe(false);
    expect(isTransient(new Error('boom'))).toBe(false);
  });

  it('sends an append whose outcome is unknown again, with the same ids and the same expected revision', async () => {
    let failures = 2;
    const { store, calls } = storeWith(async () => {
      if (failures-- > 0) throw new DeadlineExceededError();
      return { success: true, nextExpectedRevision: 4n, position: { commit: 100n, prepare: 100n } };
    });
    const events = [note('a'), note('b')];
    const result = await store.append('case-x', events, 2n);
    expect(result).toEqual({ nextExpectedRevision: 4n, position: { commit: 100n, prepare: 100n } });
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => JSON.stringify(c.ids)))).toEqual(new Set([JSON.stringify(events.map((e) => e.id))]));
    expect(calls.every((c) => c.expectedRevision === 2n)).toBe(true);
  });

  it("gives up after its retries with the port's unavailable error", async () => {
    const { store, calls } = storeWith(async () => {
      throw new UnavailableError();
    });
    await expect(store.append('case-x', [note('a')], 'no-stream')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(calls).toHaveLength(3);
  });

  it('does not retry a wrong expected revision, and reports it as the port does', async () => {
    const { store, calls } = storeWith(async () => {
      throw new WrongExpectedVersionError(undefined, { streamName: 'case-x', expected: 0n, current: 3n });
    });
    const error = await store.append('case-x', [note('a')], 0n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect((error as WrongExpectedRevisionError).actual).toBe(3n);
    expect(calls).toHaveLength(1);
  });

  it('reads a stream that does not exist as empty', async () => {
    const { store } = storeWith(async () => undefined);
    expect(await store.readStream('case-x')).toEqual([]);
  });

  it('decodes with the one codec, whether the client hands metadata back as bytes or parsed', () => {
    const { store } = storeWith(async () => undefined);
    const event = note('hello');
    const encoded = jsonCodec.encode(event, 'stream');
    const recorded = {
      streamId: 'case-z.1',
      id: event.id,
      revision: 0n,
      type: 'NoteRecorded',
      data: Uint8Array.from(encoded.data),
      position: { commit: 5n, prepare: 5n },
      isJson: false,
      created: new Date(),
    };
    const asBytes = store.toStored({ event: { ...recorded, metadata: Uint8Array.from(encoded.metadata) } } as never);
    const parsed = store.toStored({ event: { ...recorded, metadata: JSON.parse(Buffer.from(encoded.metadata).toString('utf8')) } } as never);
    expect(asBytes).toMatchObject({ id: event.id, type: 'NoteRecorded', data: event.data, position: { commit: 5n, prepare: 5n } });
    expect(parsed).toEqual(asBytes);
    expect(store.toStored({ event: { ...recorded, streamId: '$stats-127.0.0.1:2113', metadata: new Uint8Array() } } as never)).toBeUndefined();
    expect(store.toStored({ event: { ...recorded, type: '$streamDeleted', metadata: new Uint8Array() } } as never)).toBeUndefined();
    // A type this version does not know: its data as stored, not upcast (as the embedded store).
    expect(store.toStored({ event: { ...recorded, type: 'SomethingElse', metadata: Uint8Array.from(encoded.metadata) } } as never)).toMatchObject({
      type: 'SomethingElse',
      data: JSON.parse(Buffer.from(encoded.data).toString('utf8')),
    });
  });

  it('filters $all by prefix and skips system streams and system event types, not unknown types', () => {
    const { store } = storeWith(async () => undefined);
    expect(store.wanted('case-valdinievole.x', 'NoteRecorded', ['case-'])).toBe(true);
    expect(store.wanted('protocol-valdinievole', 'ProtocolSigned', ['case-'])).toBe(false);
    expect(store.wanted('$et-NoteRecorded', 'NoteRecorded', undefined)).toBe(false);
    expect(store.wanted('case-valdinievole.x', '$metadata', undefined)).toBe(false);
    expect(store.wanted('case-valdinievole.x', 'CaseRenamed', ['case-'])).toBe(true);
  });
});

/* ------------------------------------------------------------------------------------------------
 * Issue 14, against the real client 6.2.1 over the server double (esdb-client-double.ts). Each
 * test says which behaviour of the client or server the double imitates.
 * ---------------------------------------------------------------------------------------------- */

const URL = 'esdb://double.invalid:2113?tls=false';

function storeOn(server: EsdbServerDouble, options: EventStoreDbOptions = {}): EventStoreDbEventStore {
  return new EventStoreDbEventStore(URL, { client: server.client(), ...options });
}

/** Appends `count` notes, `perStream` to a stream, to case streams; `between` runs after each append (another writer); returns the texts in order. */
async function appendNotes(store: EventStoreDbEventStore, count: number, perStream = 1, prefix = 'case-z.', between?: () => void): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < count; i += perStream) {
    const batch = Array.from({ length: Math.min(perStream, count - i) }, (_, j) => note(`n${i + j}`));
    await store.append(`${prefix}${i}`, batch, 'no-stream');
    between?.();
    texts.push(...batch.map((e) => (e.data as { notes: Array<{ text: string }> }).notes[0]!.text));
  }
  return texts;
}

const textOf = (m: SubscriptionMessage) => (m.type === 'event' ? (m.event.data as { notes: Array<{ text: string }> }).notes[0]!.text : m.type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Reads a subscription until `until` says stop (or `ms` pass), slowly if asked; returns what came, or the error. */
async function take(
  subscription: Subscription,
  until: (messages: SubscriptionMessage[]) => boolean,
  options: { slow?: boolean; ms?: number } = {},
): Promise<{ messages: SubscriptionMessage[]; error?: unknown; timedOut?: boolean }> {
  const messages: SubscriptionMessage[] = [];
  const reading = (async () => {
    try {
      for await (const message of subscription) {
        messages.push(message);
        if (until(messages)) return {};
        if (options.slow) await sleep(1);
      }
      return {};
    } catch (error) {
      return { error };
    }
  })();
  const outcome = await Promise.race([reading, sleep(options.ms ?? 3_000).then(() => ({ timedOut: true }))]);
  await Promise.race([subscription.close(), sleep(1_000)]);
  return { messages, ...outcome };
}

/** Resolves to the outcome of `promise`, or 'hung' after `ms`. */
async function settle<T>(promise: Promise<T>, ms = 2_000): Promise<{ value?: T; error?: unknown; hung?: true }> {
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    sleep(ms).then(() => ({ hung: true as const })),
  ]);
}

describe('issue 14: the adapter over the real client and a server double', () => {
  describe('1. checkpoints and caught-up travel in order with the events', () => {
    // Imitates Subscription._transform (dist/streams/utils/Subscription.js): it awaits the
    // filter's checkpointReached and emits 'caughtUp' when it PROCESSES the gRPC message, while
    // up to 16 earlier events (objectMode readable buffer) still wait for the `for await` reader.
    // The server double sends a checkpoint every 32 events scanned (checkpointInterval 1).
    it('a consumer that stops at a checkpoint mid-catch-up and resumes from it ends with every event', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server, { checkpointInterval: 1 });
      const all = await appendNotes(store, 100, 1, 'case-z.', () => server.write(`orders-${server.log.length}`, 'OrderPlaced'));
      const first = await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'checkpoint'), { slow: true });
      const checkpoint = first.messages.find((m): m is Extract<SubscriptionMessage, { type: 'checkpoint' }> => m.type === 'checkpoint')!;
      expect(checkpoint).toBeDefined();
      const rest = await take(store.subscribe({ after: checkpoint.position, streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'));
      const seen = new Set([...first.messages, ...rest.messages].filter((m) => m.type === 'event').map(textOf));
      expect(all.filter((t) => !seen.has(t))).toEqual([]);
      await store.close();
    });

    it('says caught-up only after every past event, and no checkpoint comes before an event it covers', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server, { checkpointInterval: 1 });
      const all = await appendNotes(store, 100, 1, 'case-z.', () => server.write(`orders-${server.log.length}`, 'OrderPlaced'));
      const { messages } = await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'), { slow: true });
      const caughtUp = messages.findIndex((m) => m.type === 'caught-up');
      expect(
        messages
          .slice(0, caughtUp)
          .filter((m) => m.type === 'event')
          .map(textOf),
      ).toEqual(all);
      messages.forEach((m, i) => {
        if (m.type !== 'checkpoint') return;
        const later = messages.slice(i + 1).filter((n): n is Extract<SubscriptionMessage, { type: 'event' }> => n.type === 'event');
        expect(later.filter((n) => comparePositions(n.event.position, m.position) <= 0)).toEqual([]);
      });
      await store.close();
    });
  });

  describe('3. $all pages', () => {
    // Imitates the server's read of $all forwards from a position, which includes the event at
    // that position: the next page starts with the last event of the page before.
    it('never repeats the event at a page boundary', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      const all = await appendNotes(store, 2_500, 100);
      const read = await store.readAll({ maxCount: 10_000, streamPrefixes: ['case-'] });
      expect(read.map((e) => (e.data as { notes: Array<{ text: string }> }).notes[0]!.text)).toEqual(all);
      await store.close();
    });
  });

  describe('4. no silent stalls', () => {
    // Imitates grpc-js ending a call whose status is not OK: push(null), then 'error' with the
    // status code, which the client converts (utils/CommandError.js convertToCommandError).
    it('surfaces a dropped subscription: the iterator throws StoreUnavailableError after what was queued', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await appendNotes(store, 3);
      const subscription = store.subscribe({ streamPrefixes: ['case-'] });
      const outcome = take(subscription, () => false, { ms: 2_000 });
      await sleep(50);
      server.dropSubscriptions(serviceError(GrpcStatus.UNAVAILABLE, 'Connection dropped'));
      const { messages, error } = await outcome;
      expect(messages.filter((m) => m.type === 'event')).toHaveLength(3);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      await store.close();
    });

    // Imitates the server refusing a call: PERMISSION_DENIED with metadata exception
    // 'access-denied', and gRPC UNAUTHENTICATED, both AccessDeniedError in the client.
    it.each([
      ['access denied', serviceError(GrpcStatus.PERMISSION_DENIED, 'Access Denied', 'access-denied')],
      ['not authenticated', serviceError(GrpcStatus.UNAUTHENTICATED, 'Bad username or password')],
      // grpc-js: a certificate the client refuses is UNAVAILABLE "No connection established. Last error: …".
      [
        'an untrusted certificate',
        serviceError(GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: '),
      ],
    ])('tells %s apart as FatalStoreError, from a subscription and from a read', async (_name, refusal) => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      server.failCallsWith = refusal;
      const { error } = await take(store.subscribe({ streamPrefixes: ['case-'] }), () => false, { ms: 2_000 });
      expect(error).toBeInstanceOf(FatalStoreError);
      expect((error as FatalStoreError).cause).toBeInstanceOf(Error);
      await expect(store.readStream('case-z.1')).rejects.toBeInstanceOf(FatalStoreError);
      await store.close();
    });

    it('tells a missing certificate file apart as FatalStoreError (Client.connectionString throws a plain Error)', () => {
      expect(() => new EventStoreDbEventStore('esdb://node1:2113?tls=true&tlsCAFile=/nonexistent/ca.crt')).toThrow(FatalStoreError);
    });

    // Imitates convertGrpcEvent (utils/convertGrpcEvent.js): custom metadata that is not JSON
    // comes back as raw bytes; and an event whose schema version no upcaster serves.
    it.each([
      ['metadata that is not JSON', Uint8Array.from([0xff, 0xfe])],
      ['a schema version no upcaster serves', undefined],
    ])('tells an event it cannot decode (%s) apart as FatalStoreError, in a read and in a subscription', async (_name, bytes) => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      const [event] = await appendNotes(store, 1).then(() => server.log);
      const meta = metadataOf(event!.metadata);
      const broken = server.write('case-z.0', 'NoteRecorded', JSON.parse(Buffer.from(event!.data).toString()), { ...meta, schemaVersion: 0 });
      if (bytes) (broken as { metadata: Uint8Array }).metadata = bytes;
      await expect(store.readStream('case-z.0')).rejects.toBeInstanceOf(FatalStoreError);
      const { error } = await take(store.subscribe({ streamPrefixes: ['case-'] }), () => false, { ms: 2_000 });
      expect(error).toBeInstanceOf(FatalStoreError);
      await store.close();
    });

    it('close() during the start cannot race a subscription into existence', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      server.stallReads = true; // the head read at start never answers
      const subscription = store.subscribe({ streamPrefixes: ['case-'] });
      await sleep(20);
      expect(await settle(subscription.close(), 1_000)).toEqual({ value: undefined });
      await sleep(50);
      expect(server.calls.filter((c) => c.method === 'subscribeToAll')).toHaveLength(0);
      expect(server.liveSubscriptions).toBe(0);
      await store.close();
    });

    it('close() while live lets go of the server subscription', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await appendNotes(store, 2);
      const { messages } = await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'));
      expect(messages.filter((m) => m.type === 'event')).toHaveLength(2);
      await sleep(20);
      expect(server.liveSubscriptions).toBe(0);
      await store.close();
    });

    // Imitates a head read that fails (the backwards read of $all) while the subscription's own
    // stream works: the server's caughtUp comes after the past.
    it('a failed head read at start does not declare the subscription caught up', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      const all = await appendNotes(store, 40);
      server.failBackwardReadsWith = serviceError(GrpcStatus.UNAVAILABLE, 'Server Is Not Ready');
      const { messages } = await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'), { slow: true });
      const caughtUp = messages.findIndex((m) => m.type === 'caught-up');
      expect(messages.slice(0, caughtUp).filter((m) => m.type === 'event')).toHaveLength(all.length);
      await store.close();
    });

    // Imitates 6.2.1's reads: `callArguments(baseOptions, { deadline: Infinity })` in
    // streams/readStream.js and readAll.js, so a stalled server keeps a read waiting forever.
    it.each<[string, (s: EventStoreDbEventStore) => Promise<unknown>]>([
      ['readStream', (s: EventStoreDbEventStore) => s.readStream('case-z.1')],
      ['readAll', (s: EventStoreDbEventStore) => s.readAll({ maxCount: 10 })],
      ['headPosition', (s: EventStoreDbEventStore) => s.headPosition()],
      ['ping', (s: EventStoreDbEventStore) => s.ping()],
      ['identity', (s: EventStoreDbEventStore) => s.identity()],
    ])('%s keeps its own deadline: it cancels the read and throws StoreUnavailableError', async (_name, call) => {
      const server = new EsdbServerDouble();
      const store = storeOn(server, { deadline: 100 });
      server.stallReads = true;
      const outcome = await settle(call(store));
      expect(outcome.error).toBeInstanceOf(StoreUnavailableError);
      expect(server.calls.filter((c) => c.method !== 'appendToStream').every((c) => c.deadline === Infinity)).toBe(true);
      await sleep(20);
      expect(server.opened.every((c) => c.cancelled || c.readableEnded)).toBe(true);
      await store.close();
    });
  });

  describe('5. catch-up as fast as the embedded store', () => {
    // Imitates the server's checkpoints of a filtered subscription (one per interval × 32
    // events scanned, then one at the end of the log when it goes live, 24.10.5+).
    it('a slow consumer gets the last of the checkpoints that piled up, not each of them', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server, { checkpointInterval: 1 });
      for (let i = 0; i < 1_000; i++) server.write(`orders-${i}`, 'OrderPlaced'); // another application
      const subscription = store.subscribe({ streamPrefixes: ['case-'] });
      // The consumer is busy while the server scans everything and the client reads it all.
      while (!server.opened.some((c) => c.method === 'subscribeToAll' && c.drained)) await sleep(10);
      await sleep(50);
      const end = server.log.at(-1)!.position;
      const { messages } = await take(subscription, (ms) => ms.some((m) => m.type === 'checkpoint' && comparePositions(m.position, end) === 0));
      const checkpoints = messages.filter((m) => m.type === 'checkpoint');
      expect(checkpoints).toHaveLength(1);
      expect(checkpoints[0]).toEqual({ type: 'checkpoint', position: server.log.at(-1)!.position });
      await store.close();
    });

    it('asks the server for a checkpoint every 1,024 events scanned, not every 32', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'));
      expect(server.filters[0]?.interval).toBe(1_024);
      await store.close();
    });

    // Imitates a server shared with another application: $all holds its events after ours.
    it('computes the head from the ledger streams only, past another application’s events', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server, { readPageSize: 100 });
      await store.append('protocol-z', [note('p')], 'no-stream');
      const last = await store.append('case-z.1', [note('c')], 'no-stream');
      for (let i = 0; i < 250; i++) server.write(`orders-${i}`, 'OrderPlaced');
      server.write('$stats-127.0.0.1:2113', '$statsCollected');
      expect(await store.headPosition()).toEqual(last.position);
      await store.close();
    });
  });

  describe('auditors: the bytes written', () => {
    // The real client parses custom metadata it can (convertGrpcEvent); the mark keeps it bytes.
    it('reads back the metadata bytes the server holds, exactly, through the real client', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await store.append('case-z.1', [note('one'), note('two')], 'no-stream');
      const raw = await store.readRaw({ maxCount: 10, streamPrefixes: ['case-'] });
      const decoded = await store.readStream('case-z.1');
      expect(raw).toHaveLength(2);
      raw.forEach((event, i) => {
        expect(Buffer.from(event.raw.metadata).equals(Buffer.from(server.log[i]!.metadata))).toBe(true);
        expect(Buffer.from(event.raw.data).equals(Buffer.from(server.log[i]!.data))).toBe(true);
        expect(Buffer.from(decoded[i]!.raw.metadata).equals(Buffer.from(server.log[i]!.metadata))).toBe(true);
      });
      expect(decoded[0]!.metadata).toMatchObject({ zone: expect.any(String), schemaVersion: 1 });
      await store.close();
    });
  });

  describe('6. rolling upgrades, retries and size', () => {
    // Imitates a newer version of the service writing an event type this one does not know.
    it('reads a stream with an event type it does not know: it counts for revisions, with its data as stored', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await store.append('case-z.1', [note('one')], 'no-stream');
      const meta = metadataOf(server.log[0]!.metadata);
      server.write('case-z.1', 'CaseRenamed', { name: 'later version' }, { ...meta, schemaVersion: 1 });
      // A writer of this version appends after it at the revision the read gave it.
      const third = await store.append('case-z.1', [note('three')], (await store.readStream('case-z.1')).at(-1)!.revision);
      expect(third.nextExpectedRevision).toBe(2n);
      const events = await store.readStream('case-z.1');
      expect(events.map((e) => [e.revision, e.type])).toEqual([
        [0n, 'NoteRecorded'],
        [1n, 'CaseRenamed'],
        [2n, 'NoteRecorded'],
      ]);
      expect(events[1]!.data).toEqual({ name: 'later version' });
      await store.close();
    });

    // Imitates a newer version of the service writing an event type this one does not know,
    // read from $all as the embedded store reads it: delivered, with its data as stored.
    it('delivers an event type it does not know from readAll, readRaw and subscribe, as the embedded store does', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      await store.append('case-z.1', [note('one')], 'no-stream');
      const meta = metadataOf(server.log[0]!.metadata);
      const unknown = server.write('case-z.1', 'CaseRenamed', { name: 'later version' }, { ...meta, schemaVersion: 1 });
      server.write('$stats-127.0.0.1:2113', '$statsCollected');
      const read = await store.readAll({ maxCount: 10, streamPrefixes: ['case-'] });
      expect(read.map((e) => e.type)).toEqual(['NoteRecorded', 'CaseRenamed']);
      expect(read[1]).toMatchObject({ revision: 1n, position: unknown.position, data: { name: 'later version' }, metadata: { schemaVersion: 1 } });
      expect((await store.readAll({ maxCount: 10 })).map((e) => e.type)).toEqual(['NoteRecorded', 'CaseRenamed']);
      expect((await store.readRaw({ maxCount: 10, streamPrefixes: ['case-'] })).map((e) => e.type)).toEqual(['NoteRecorded', 'CaseRenamed']);
      // The read barrier: the head is the unknown event's position, and the subscription delivers it.
      expect(await store.headPosition()).toEqual(unknown.position);
      const { messages } = await take(store.subscribe({ streamPrefixes: ['case-'] }), (ms) => ms.some((m) => m.type === 'caught-up'));
      const events = messages.filter((m): m is Extract<SubscriptionMessage, { type: 'event' }> => m.type === 'event');
      expect(events.map((m) => [m.event.type, m.event.data])).toEqual([
        ['NoteRecorded', expect.anything()],
        ['CaseRenamed', { name: 'later version' }],
      ]);
      await store.close();
    });

    // Imitates `throwOnAppendFailure=false` (settable in the connection string): 6.2.1 resolves a
    // wrong expected revision as `{ success: false }` (streams/appendToStream/batchAppend.js).
    it('reports an append the client answered with success: false as a wrong expected revision, not as written', async () => {
      const server = new EsdbServerDouble();
      server.throwOnAppendFailure = false;
      const store = storeOn(server);
      await store.append('case-z.1', [note('one'), note('two')], 'no-stream');
      const error = await store.append('case-z.1', [note('stale')], 0n).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ stream: 'case-z.1', expected: 0n });
      const missing = await store.append('case-z.2', [note('x')], 0n).catch((e: unknown) => e);
      expect(missing).toMatchObject({ stream: 'case-z.2', expected: 0n, actual: 'no-stream' });
      expect(server.log).toHaveLength(2);
      await store.close();
    });

    // Imitates the batch append's "Server Is Not Ready" / "Server Is Busy": a google.rpc.Status
    // whose details the client does not recognise, UnknownError (appendToStream/unpackError.js).
    it.each(['Server Is Not Ready', 'Server Is Busy', 'No leader info available'])('sends an append refused with "%s" again', async (reason) => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      let refusals = 2;
      server.beforeAppend = () => (refusals-- > 0 ? new UnknownError(undefined, `Could not recognize ${reason}`) : undefined);
      const written = await store.append('case-z.1', [note('one')], 'no-stream');
      expect(written.nextExpectedRevision).toBe(0n);
      expect(server.calls.filter((c) => c.method === 'appendToStream')).toHaveLength(3);
      expect(server.log).toHaveLength(1);
      expect(isTransient(new UnknownError(undefined, 'Could not recognize something else'))).toBe(false);
      await store.close();
    });

    // Imitates a timed-out append with expected revision ANY, which the server cannot recognise
    // reliably when sent again (its id cache), so a retry could write a duplicate.
    it('does not send an append with expected revision any again: unavailable at once', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      let refusals = 1;
      server.beforeAppend = () => (refusals-- > 0 ? new DeadlineExceededError() : undefined);
      await expect(store.append('case-z.1', [note('one')], 'any')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(server.calls.filter((c) => c.method === 'appendToStream')).toHaveLength(1);
      // A numeric revision or no-stream is still sent again.
      refusals = 1;
      expect((await store.append('case-z.2', [note('two')], 'no-stream')).nextExpectedRevision).toBe(0n);
      expect(server.calls.filter((c) => c.method === 'appendToStream')).toHaveLength(3);
      await store.close();
    });

    // Imitates a recognised retry answered without a position (the adapter must allow it),
    // after another writer appended to the same stream.
    it('finds the position of a recognised retry at its own revision, not at the stream’s last event', async () => {
      const server = new EsdbServerDouble();
      const store = storeOn(server);
      const events = [note('mine')];
      const first = await store.append('case-z.1', events, 'no-stream');
      await store.append('case-z.1', [note('someone else')], 0n);
      const retry = await store.append('case-z.1', events, 'no-stream');
      expect(retry).toEqual(first);
      await store.close();
    });

    // Imitates the server's MaxAppendSize (1 MiB by default; data + metadata + 2 × type length).
    it('refuses an append over 1 MiB with a clear error, before sending it', async () => {
      const server = new EsdbServerDouble();
      const big = { ...jsonCodec, encode: (e: EventToAppend, stream: string) => ({ ...jsonCodec.encode(e, stream), data: new Uint8Array(1024 * 1024) }) };
      const store = storeOn(server, { codec: big });
      const error = await store.append('case-z.1', [note('big')], 'no-stream').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/over EventStoreDB's maximum append size of 1048576 bytes/);
      expect(server.calls.filter((c) => c.method === 'appendToStream')).toHaveLength(0);
      await store.close();
    });
  });

  describe('identity()', () => {
    // Imitates appendToStream with NO_STREAM (WrongExpectedVersionError for the second
    // writer) and a JSON event read back parsed (convertGrpcEvent, content-type application/json).
    it('is written once and read by every instance on the same log, even when they start together', async () => {
      const server = new EsdbServerDouble();
      const [a, b] = [storeOn(server), storeOn(server)];
      const [x, y] = await Promise.all([a.identity(), b.identity()]);
      expect(x).toMatch(/^[0-9a-f-]{36}$/);
      expect(y).toBe(x);
      expect(await a.identity()).toBe(x);
      expect(server.log.filter((e) => e.stream === 'ledger-identity')).toHaveLength(1);
      expect(await storeOn(new EsdbServerDouble()).identity()).not.toBe(x);
    });
  });
});
