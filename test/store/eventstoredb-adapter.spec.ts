import { DeadlineExceededError, NO_STREAM, ANY, StreamNotFoundError, UnavailableError, WrongExpectedVersionError } from '@eventstore/db-client';
import { jsonCodec } from '../../src/store/codec';
import { StoreUnavailableError, WrongExpectedRevisionError } from '../../events/event-store';
import {
  EventStoreDbEventStore,
  fromEsdbWrongExpectedVersion,
  isTransient,
  toEsdbConnectionString,
  toEsdbExpectedRevision,
} from '../../src/store/eventstoredb-event-store';
import { note } from '../support/events';

/*
 * What of the EventStoreDB adapter can be checked without a server: the mappings, the
 * decoding of what the client hands back, and the append's retry logic, with the client's own
 * error classes standing in for the server's answers.
 */

type Calls = Array<{ stream: string; ids: string[]; expectedRevision: unknown }>;

function storeWith(appendToStream: (stream: string, events: Array<{ id: string }>, options: { expectedRevision: unknown }) => Promise<unknown>) {
  const store = new EventStoreDbEventStore('esdb://localhost:1?tls=false', { appendRetries: 2 });
  const calls: Calls = [];
  (store as unknown as { client: unknown }).client = {
    appendToStream: async (stream: string, events: Array<{ id: string }>, options: { expectedRevision: unknown }) => {
      calls.push({ stream, ids: events.map((e) => e.id), expectedRevision: options.expectedRevision });
      return appendToStream(stream, events, options);
    },
    readStream: () => {
      throw new StreamNotFoundError(undefined, 'case-x');
    },
    dispose: async () => undefined,
  };
  return { store, calls };
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

  it('gives up after its retries with the port\'s unavailable error', async () => {
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
    const encoded = jsonCodec.encode(event);
    const recorded = { streamId: 'case-z.1', id: event.id, revision: 0n, type: 'NoteRecorded', data: Uint8Array.from(encoded.data), position: { commit: 5n, prepare: 5n }, isJson: false, created: new Date() };
    const asBytes = store.toStored({ event: { ...recorded, metadata: Uint8Array.from(encoded.metadata) } } as never);
    const parsed = store.toStored({ event: { ...recorded, metadata: JSON.parse(Buffer.from(encoded.metadata).toString('utf8')) } } as never);
    expect(asBytes).toMatchObject({ id: event.id, type: 'NoteRecorded', data: event.data, position: { commit: 5n, prepare: 5n } });
    expect(parsed).toEqual(asBytes);
    expect(store.toStored({ event: { ...recorded, streamId: '$stats-127.0.0.1:2113', metadata: new Uint8Array() } } as never)).toBeUndefined();
    expect(store.toStored({ event: { ...recorded, type: 'SomethingElse', metadata: new Uint8Array() } } as never)).toBeUndefined();
  });

  it('filters $all by prefix and skips system streams and unknown types', () => {
    const { store } = storeWith(async () => undefined);
    expect(store.wanted('case-valdinievole.x', 'NoteRecorded', ['case-'])).toBe(true);
    expect(store.wanted('protocol-valdinievole', 'ProtocolSigned', ['case-'])).toBe(false);
    expect(store.wanted('$et-NoteRecorded', 'NoteRecorded', undefined)).toBe(false);
    expect(store.wanted('case-valdinievole.x', '$metadata', undefined)).toBe(false);
  });
});
