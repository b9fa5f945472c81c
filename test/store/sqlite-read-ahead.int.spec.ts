import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventCodec, StoredEvent, SubscriptionMessage } from '../../events/event-store';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { note, texts } from '../support/events';

/*
 * The embedded store's subscription reads a page ahead of the one it hands over (so that a
 * catch-up's next page is decrypted while the current one is folded). Small pages here, so that
 * every case crosses page boundaries: nothing skipped, repeated or reordered, appends made while
 * pages are out are delivered, and a page read ahead but never handed over fails nobody.
 */
describe('the embedded subscription, reading a page ahead', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-ahead-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const wanted = (i: number) => `test-stream-w-${i % 3}`;

  it('delivers every matching event once, in order, across pages and appends made meanwhile', async () => {
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { pageSize: 4, pollIntervalMs: 20 });
    const revisions = new Map<string, bigint>();
    const append = async (stream: string, text: string) => {
      const expected = revisions.get(stream) ?? 'no-stream';
      const result = await store.append(stream, [note(text)], expected);
      revisions.set(stream, result.nextExpectedRevision);
    };
    const expected: string[] = [];
    for (let i = 0; i < 23; i++) {
      await append(wanted(i), `before ${i}`);
      expected.push(`before ${i}`);
      if (i % 4 === 0) await append(`other-${i}`, `unrelated ${i}`);
    }
    const subscription = store.subscribe({ streamPrefixes: ['test-stream-w-'] });
    const events: StoredEvent[] = [];
    let appended = false;
    for await (const message of subscription) {
      if (message.type === 'event') events.push(message.event);
      // Appended while pages are out (one handed over, the next read ahead).
      if (events.length === 5 && !appended) {
        appended = true;
        for (let i = 0; i < 12; i++) {
          await append(wanted(i), `during ${i}`);
          expected.push(`during ${i}`);
        }
      }
      if (events.length === expected.length && appended) break;
    }
    await subscription.close();
    expect(texts(events)).toEqual(expected);
    const positions = events.map((e) => e.position.commit);
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(positions).size).toBe(positions.length);
    await store.close();
  });

  it('lets a page read ahead fail unhandled by nobody when the subscription closes first', async () => {
    const failing: EventCodec = {
      ...createCodec(),
      decodeMany: async (rows) => {
        if (rows.some((r) => Buffer.from(r.data).toString().includes('poison'))) throw new Error('cannot decode');
        return rows.map((r) => createCodec().decode('', r.id, r.type, r.data, r.metadata));
      },
    };
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { pageSize: 3, codec: failing });
    await store.append('test-stream-a', [note('one'), note('two'), note('three'), note('poison four')], 'no-stream');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const subscription = store.subscribe({});
      const seen: SubscriptionMessage[] = [];
      for await (const message of subscription) {
        seen.push(message);
        if (seen.length === 1) break; // the second page (the poisoned one) was read ahead, never handed over
      }
      await subscription.close();
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      // Handed over, it fails the subscription as a decode failure always did.
      const again = store.subscribe({});
      await expect(
        (async () => {
          for await (const _ of again) void _;
        })(),
      ).rejects.toThrow('cannot decode');
      await again.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await store.close();
    }
  });
});
