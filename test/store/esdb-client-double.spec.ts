import { FORWARDS, START, StreamNotFoundError, jsonEvent, streamNameFilter } from '@eventstore/db-client';
import { EsdbServerDouble } from './esdb-client-double';

/*
 * The double's premises, shown with the real client 6.2.1 and no adapter: what the adapter's
 * tests rely on is the client's own behaviour, not the double's invention.
 */
describe('the real client 6.2.1 over the server double', () => {
  it('passes deadline Infinity to reads whatever deadline it is given (streams/readStream.js, readAll.js)', async () => {
    const server = new EsdbServerDouble();
    const client = server.client();
    await client.appendToStream('s-1', jsonEvent({ type: 'T', data: { a: 1 } }));
    for await (const _ of client.readStream('s-1', { deadline: 10 })) void _;
    for await (const _ of client.readAll({ deadline: 10, maxCount: 1 })) void _;
    expect(server.calls.filter((c) => c.method.startsWith('read')).map((c) => c.deadline)).toEqual([Infinity, Infinity]);
  });

  it('answers a missing stream with StreamNotFoundError while iterating (ReadStream._transform)', async () => {
    const client = new EsdbServerDouble().client();
    const reading = (async () => {
      for await (const _ of client.readStream('nowhere', { direction: FORWARDS, fromRevision: START })) void _;
    })();
    await expect(reading).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('runs checkpointReached while earlier events still wait in its readable buffer (Subscription._transform)', async () => {
    const server = new EsdbServerDouble();
    const client = server.client();
    for (let i = 0; i < 40; i++) await client.appendToStream(`s-${i}`, jsonEvent({ type: 'T', data: { i } }));
    const waiting: number[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: ['s-'], checkpointInterval: 1, checkpointReached: (s) => void waiting.push(s.readableLength) }),
    });
    let taken = 0;
    for await (const _ of subscription) {
      void _;
      // A consumer slower than the network (the projection runner writes SQLite).
      await new Promise((r) => setTimeout(r, 1));
      if (++taken === 40) break;
    }
    // The first checkpoint (after 32 events scanned) ran with events not yet read behind it.
    expect(waiting[0]).toBeGreaterThanOrEqual(8);
    await subscription.unsubscribe();
  });
});
