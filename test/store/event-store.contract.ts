import { createCodec } from '../../src/store/codec';
import { randomUUID } from 'node:crypto';
import {
  comparePositions,
  type EventStore,
  type ExpectedRevision,
  type Position,
  type StoredEvent,
  type SubscriptionMessage,
  WrongExpectedRevisionError,
} from '../../events/event-store';
import { note, texts } from '../support/events';

export interface StoreUnderTest {
  store: EventStore;
  close(): Promise<void>;
}

export interface ContractParameters {
  /**
   * How many unrelated events a filtered subscription may need to see before it reports a
   * checkpoint past them (EventStoreDB: checkpointInterval × 32; the embedded store: at once).
   */
  readonly eventsBeforeFilteredCheckpoint: number;
  /**
   * Appends one event of a type this version does not know ('FromANewerVersion', data
   * `{ newer: true }`) to `stream` at `expected`, as a newer version of the service would (a
   * rolling upgrade). Absent where the store cannot be written but through this version's codec.
   */
  readonly appendUnknownType?: (stream: string, expected: ExpectedRevision) => Promise<void>;
}

/**
 * The event store contract (ARCHITECTURE.md property 3): every adapter passes this one suite.
 * Each test uses streams of its own, so the suite can run against a shared server.
 */
export function eventStoreContract(open: () => Promise<StoreUnderTest>, params: ContractParameters): void {
  let sut: StoreUnderTest;
  let store: EventStore;
  let prefix: string;
  const stream = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    sut = await open();
    store = sut.store;
  });
  afterAll(async () => sut?.close());
  beforeEach(() => {
    prefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}-`;
  });

  async function headOrStart(): Promise<Position | undefined> {
    return store.headPosition();
  }

  describe('appending', () => {
    it('starts a new stream at revision 0 when no stream is expected', async () => {
      const result = await store.append(stream('a'), [note('one')], 'no-stream');
      expect(result.nextExpectedRevision).toBe(0n);
      const events = await store.readStream(stream('a'));
      expect(events.map((e) => e.revision)).toEqual([0n]);
      expect(comparePositions(events[0]!.position, result.position)).toBe(0);
    });

    it('appends several events atomically with consecutive revisions and rising positions', async () => {
      await store.append(stream('a'), [note('one')], 'no-stream');
      const result = await store.append(stream('a'), [note('two'), note('three')], 0n);
      expect(result.nextExpectedRevision).toBe(2n);
      const events = await store.readStream(stream('a'));
      expect(texts(events)).toEqual(['one', 'two', 'three']);
      expect(events.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
      expect(comparePositions(events[0]!.position, events[1]!.position)).toBe(-1);
      expect(comparePositions(events[1]!.position, events[2]!.position)).toBe(-1);
      expect(comparePositions(events[2]!.position, result.position)).toBe(0);
    });

    it('refuses no-stream on an existing stream and writes nothing', async () => {
      await store.append(stream('a'), [note('one')], 'no-stream');
      const error = await store.append(stream('a'), [note('two')], 'no-stream').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe(0n);
      expect(texts(await store.readStream(stream('a')))).toEqual(['one']);
    });

    it('refuses a stale revision and writes nothing', async () => {
      await store.append(stream('a'), [note('one'), note('two')], 'no-stream');
      const error = await store.append(stream('a'), [note('three')], 0n).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe(1n);
      expect(texts(await store.readStream(stream('a')))).toEqual(['one', 'two']);
    });

    it('refuses an exact revision on a stream that does not exist', async () => {
      const error = await store.append(stream('none'), [note('one')], 0n).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).toBe('no-stream');
      expect(await store.readStream(stream('none'))).toEqual([]);
    });

    it('appends with any revision to new and existing streams', async () => {
      expect((await store.append(stream('a'), [note('one')], 'any')).nextExpectedRevision).toBe(0n);
      expect((await store.append(stream('a'), [note('two')], 'any')).nextExpectedRevision).toBe(1n);
    });

    it('lets exactly one of two appends at the same expected revision win', async () => {
      await store.append(stream('a'), [note('one')], 'no-stream');
      const results = await Promise.allSettled([store.append(stream('a'), [note('left')], 0n), store.append(stream('a'), [note('right')], 0n)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(stream('a'))).toHaveLength(2);
    });

    it('recognises a retried append by its event ids and does not write it twice', async () => {
      await store.append(stream('a'), [note('one')], 'no-stream');
      const events = [note('two'), note('three')];
      const first = await store.append(stream('a'), events, 0n);
      const retry = await store.append(stream('a'), events, 0n);
      expect(retry.nextExpectedRevision).toBe(first.nextExpectedRevision);
      expect(comparePositions(retry.position, first.position)).toBe(0);
      expect(texts(await store.readStream(stream('a')))).toEqual(['one', 'two', 'three']);
    });

    it('recognises a retried first append of a stream', async () => {
      const events = [note('one')];
      const first = await store.append(stream('a'), events, 'no-stream');
      const retry = await store.append(stream('a'), events, 'no-stream');
      expect(comparePositions(retry.position, first.position)).toBe(0);
      expect(await store.readStream(stream('a'))).toHaveLength(1);
    });
  });

  describe('reading', () => {
    it('reads an unknown stream as empty', async () => {
      expect(await store.readStream(stream('never'))).toEqual([]);
    });

    it('reads a stream from a revision on', async () => {
      await store.append(stream('a'), [note('one'), note('two'), note('three')], 'no-stream');
      expect(texts(await store.readStream(stream('a'), { fromRevision: 1n }))).toEqual(['two', 'three']);
      expect(await store.readStream(stream('a'), { fromRevision: 3n })).toEqual([]);
    });

    it('returns data and metadata as appended, with the schema version the codec wrote', async () => {
      const event = note('hello');
      await store.append(stream('a'), [event], 'no-stream');
      const [stored] = await store.readStream(stream('a'));
      expect(stored).toMatchObject({ id: event.id, stream: stream('a'), type: 'NoteRecorded', data: event.data });
      expect(stored!.metadata).toEqual({ ...event.metadata, schemaVersion: 1 });
    });

    it('reads all streams in global order after a position, filtered by stream prefix', async () => {
      const start = await headOrStart();
      await store.append(stream('x-1'), [note('x1')], 'no-stream');
      await store.append(stream('y-1'), [note('y1')], 'no-stream');
      await store.append(stream('x-2'), [note('x2'), note('x3')], 'no-stream');
      const xs = await store.readAll({ after: start, maxCount: 100, streamPrefixes: [stream('x-')] });
      expect(texts(xs)).toEqual(['x1', 'x2', 'x3']);
      const both = await store.readAll({ after: start, maxCount: 100, streamPrefixes: [stream('x-'), stream('y-')] });
      expect(texts(both)).toEqual(['x1', 'y1', 'x2', 'x3']);
      const afterFirst = await store.readAll({ after: xs[0]!.position, maxCount: 2, streamPrefixes: [stream('')] });
      expect(texts(afterFirst)).toEqual(['y1', 'x2']);
    });

    it('reads the bytes exactly as written, undecoded, in the order and with the filter of readAll', async () => {
      const start = await headOrStart();
      const written = [note('r1'), note('r2'), note('r3')];
      await store.append(stream('raw-1'), written.slice(0, 2), 'no-stream');
      await store.append(stream('raw-2'), written.slice(2), 'no-stream');
      const raw = await store.readRaw({ after: start, maxCount: 100, streamPrefixes: [stream('raw-')] });
      const decoded = await store.readAll({ after: start, maxCount: 100, streamPrefixes: [stream('raw-')] });
      expect(raw.map((e) => [e.id, e.stream, e.revision, e.position])).toEqual(decoded.map((e) => [e.id, e.stream, e.revision, e.position]));
      raw.forEach((e, i) => {
        expect(Buffer.from(e.raw.data).equals(Buffer.from(decoded[i]!.raw.data))).toBe(true);
        expect(Buffer.from(e.raw.metadata).equals(Buffer.from(decoded[i]!.raw.metadata))).toBe(true);
      });
      // The bytes written: what the codec made, metadata included (not read back and serialised again).
      const encoded = createCodec().encode(written[0]!, stream('raw-1'));
      expect(Buffer.from(raw[0]!.raw.data).equals(Buffer.from(encoded.data))).toBe(true);
      expect(
        Buffer.from(raw[0]!.raw.metadata)
          .toString('utf8')
          .replace(/^\uFEFF/, ''),
      ).toBe(Buffer.from(encoded.metadata).toString('utf8'));
    });

    it('pages through $all with maxCount, never repeating or losing the event at a page boundary', async () => {
      const start = await headOrStart();
      for (let i = 0; i < 7; i++) await store.append(stream(`p-${i}`), [note(`p${i}a`), note(`p${i}b`)], 'no-stream');
      const pages: string[][] = [];
      let after = start;
      for (;;) {
        const page = await store.readAll({ after, maxCount: 3, streamPrefixes: [stream('p-')] });
        if (page.length === 0) break;
        pages.push(texts(page));
        after = page[page.length - 1]!.position;
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3, 2]);
      expect(pages.flat()).toEqual(Array.from({ length: 7 }, (_, i) => [`p${i}a`, `p${i}b`]).flat());
    });

    const unknownTypes = params.appendUnknownType ? it : it.skip;
    unknownTypes('reads an event of a type this version does not know: it counts for revisions, data as stored', async () => {
      await store.append(stream('a'), [note('one')], 'no-stream');
      await params.appendUnknownType!(stream('a'), 0n);
      const before = await store.readStream(stream('a'));
      expect(before.map((e) => e.revision)).toEqual([0n, 1n]);
      await store.append(stream('a'), [note('three')], before[1]!.revision);
      const events = await store.readStream(stream('a'));
      expect(events.map((e) => [e.revision, e.type])).toEqual([
        [0n, 'NoteRecorded'],
        [1n, 'FromANewerVersion'],
        [2n, 'NoteRecorded'],
      ]);
      expect(events[1]!.data).toEqual({ newer: true });
    });

    it('names its log with one identity, a UUID, the same on every call', async () => {
      const first = await store.identity();
      expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(await store.identity()).toBe(first);
    });

    it('reports the head position as the position of the last append', async () => {
      const result = await store.append(stream('a'), [note('one'), note('two')], 'no-stream');
      const head = await store.headPosition();
      expect(head).toBeDefined();
      expect(comparePositions(head!, result.position)).toBeGreaterThanOrEqual(0);
    });
  });

  describe('subscribing', () => {
    /** Collects messages until `until` holds or the time runs out, then closes the subscription. */
    async function collect(
      options: Parameters<EventStore['subscribe']>[0],
      until: (events: StoredEvent[], messages: SubscriptionMessage[]) => boolean,
      during?: () => Promise<void>,
    ): Promise<{ events: StoredEvent[]; messages: SubscriptionMessage[] }> {
      const subscription = store.subscribe(options);
      const events: StoredEvent[] = [];
      const messages: SubscriptionMessage[] = [];
      const deadline = setTimeout(() => void subscription.close(), 15_000);
      const consuming = (async () => {
        for await (const message of subscription) {
          messages.push(message);
          if (message.type === 'event') events.push(message.event);
          if (until(events, messages)) break;
        }
      })();
      await during?.();
      await consuming;
      clearTimeout(deadline);
      await subscription.close();
      return { events, messages };
    }

    it('delivers past events, then live ones, in order, filtered by prefix', async () => {
      const start = await headOrStart();
      await store.append(stream('s-1'), [note('past-1'), note('past-2')], 'no-stream');
      await store.append(stream('other'), [note('unrelated')], 'no-stream');
      const { events } = await collect(
        { after: start, streamPrefixes: [stream('s-')] },
        (evs) => evs.length >= 4,
        async () => {
          await new Promise((r) => setTimeout(r, 50));
          await store.append(stream('s-2'), [note('live-1')], 'no-stream');
          await store.append(stream('s-1'), [note('live-2')], 1n);
        },
      );
      expect(texts(events)).toEqual(['past-1', 'past-2', 'live-1', 'live-2']);
    });

    it('resumes after a checkpoint position without repeating or losing events', async () => {
      const start = await headOrStart();
      await store.append(stream('s-1'), [note('one'), note('two'), note('three')], 'no-stream');
      const first = await collect({ after: start, streamPrefixes: [stream('s-')] }, (evs) => evs.length >= 2);
      const resumed = await collect({ after: first.events[1]!.position, streamPrefixes: [stream('s-')] }, (evs) => evs.length >= 1);
      expect(texts(first.events)).toEqual(['one', 'two']);
      expect(texts(resumed.events)).toEqual(['three']);
    });

    it('sends a checkpoint only after the events it covers: a consumer resuming from one loses nothing', async () => {
      const start = await headOrStart();
      const wanted: string[] = [];
      const unrelated = Math.ceil(params.eventsBeforeFilteredCheckpoint / 20);
      for (let i = 0; i < 20; i++) {
        await store.append(stream(`w-${i}`), [note(`w${i}`)], 'no-stream');
        wanted.push(`w${i}`);
        await store.append(
          stream(`other-${i}`),
          Array.from({ length: unrelated }, (_, j) => note(`u${i}.${j}`)),
          'no-stream',
        );
      }
      const last = (await store.readAll({ after: start, maxCount: 10_000, streamPrefixes: [stream('')] })).at(-1)!.position;
      const first = await collect({ after: start, streamPrefixes: [stream('w-')] }, (_, msgs) => msgs.some((m) => m.type === 'checkpoint'));
      const messages = first.messages;
      const at = messages.findIndex((m) => m.type === 'checkpoint');
      expect(at).toBeGreaterThanOrEqual(0);
      const checkpoint = messages[at] as Extract<SubscriptionMessage, { type: 'checkpoint' }>;
      const rest = await collect({ after: checkpoint.position, streamPrefixes: [stream('w-')] }, (_, msgs) =>
        msgs.some((m) => (m.type === 'checkpoint' && comparePositions(m.position, last) >= 0) || (m.type === 'event' && comparePositions(m.event.position, last) >= 0)),
      );
      expect([...texts(first.events), ...texts(rest.events)].filter((t, i, all) => all.indexOf(t) === i).sort()).toEqual([...wanted].sort());
      expect(texts(rest.events).filter((t) => texts(first.events).includes(t))).toEqual([]);
    });

    it('reports checkpoints past events the filter leaves out', async () => {
      const start = await headOrStart();
      const unrelated = Array.from({ length: params.eventsBeforeFilteredCheckpoint }, (_, i) => note(`u${i}`));
      let last: Position | undefined;
      for (let i = 0; i < unrelated.length; i += 100) {
        last = (await store.append(stream(`other-${i}`), unrelated.slice(i, i + 100), 'no-stream')).position;
      }
      const { messages } = await collect({ after: start, streamPrefixes: [stream('wanted-')] }, (_, msgs) =>
        msgs.some((m) => m.type === 'checkpoint' && comparePositions(m.position, last!) >= 0),
      );
      expect(messages.filter((m) => m.type === 'event')).toHaveLength(0);
      expect(messages.some((m) => m.type === 'checkpoint' && comparePositions(m.position, last!) >= 0)).toBe(true);
    });
  });
}
