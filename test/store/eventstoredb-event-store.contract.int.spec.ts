import { comparePositions, type ExpectedRevision } from '../../events/event-store';
import type { EventCodec } from '../../events';
import { EventStoreDbEventStore, type EventStoreDbOptions } from '../../src/store/eventstoredb-event-store';
import { note } from '../support/events';
import { EsdbServerDouble } from './esdb-client-double';
import { eventStoreContract } from './event-store.contract';

/**
 * The same contract suite as the embedded store's, against EventStoreDB: through
 * EVENTSTORE_URL, or a container the global setup started (test/global-setup.ts). Without
 * either that leg is skipped, and the global setup says why, in one line. The suite also runs,
 * always, against the adapter over the real client 6.2.1 and the in-memory server double
 * (esdb-client-double.ts): what that shows and what only a server can is in
 * docs/EVENTSTOREDB-ADAPTER.md.
 */
const url = process.env.EVENTSTORE_URL;
const describeWithServer = url ? describe : describe.skip;

/** Contract streams are named `t<12 hex>-…`: the head counts them (the ledger's own prefixes in production). */
const contractOptions: EventStoreDbOptions = { checkpointInterval: 1, headPrefixes: ['t'] };

/** A newer version's codec: it writes an event type this version does not know (a rolling upgrade). */
const newerCodec: EventCodec = {
  encode: (event) => ({
    id: event.id,
    type: event.type,
    data: Buffer.from(JSON.stringify(event.data)),
    metadata: Buffer.from(JSON.stringify({ ...event.metadata, schemaVersion: 1 })),
  }),
  decode: () => {
    throw new Error('write only');
  },
};

function unknownTypeWriter(open: () => EventStoreDbEventStore) {
  return async (stream: string, expected: ExpectedRevision) => {
    const newer = open();
    await newer.append(stream, [{ ...note('newer'), type: 'FromANewerVersion', data: { newer: true } }], expected);
    await newer.close();
  };
}

describe('the EventStoreDB adapter over the real client and the server double', () => {
  let server: EsdbServerDouble;
  eventStoreContract(
    async () => {
      server = new EsdbServerDouble();
      const store = new EventStoreDbEventStore('esdb://double.invalid:2113?tls=false', { ...contractOptions, client: server.client() });
      return { store, close: () => store.close() };
    },
    {
      // checkpointInterval 1: a checkpoint every 32 events the server scans.
      eventsBeforeFilteredCheckpoint: 64,
      appendUnknownType: unknownTypeWriter(() => new EventStoreDbEventStore('esdb://double.invalid:2113?tls=false', { client: server.client(), codec: newerCodec })),
    },
  );
});

describeWithServer('the EventStoreDB event store', () => {
  eventStoreContract(
    async () => {
      const store = new EventStoreDbEventStore(url!, contractOptions);
      // A fresh node can answer "Server Is Not Ready" at first (EVENTSTOREDB.md): retry the first call.
      for (let attempt = 0; ; attempt++) {
        try {
          await store.append(`warm-up-${Date.now()}`, [note('warm up')], 'any');
          break;
        } catch (error) {
          if (attempt >= 30) throw error;
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
      return { store, close: () => store.close() };
    },
    {
      eventsBeforeFilteredCheckpoint: 64,
      appendUnknownType: unknownTypeWriter(() => new EventStoreDbEventStore(url!, { codec: newerCodec })),
    },
  );

  it('keeps positions comparable with the commit and prepare of the server', async () => {
    const store = new EventStoreDbEventStore(url!);
    const a = await store.append(`t-${Date.now()}-a`, [note('a')], 'no-stream');
    const b = await store.append(`t-${Date.now()}-b`, [note('b')], 'no-stream');
    expect(comparePositions(a.position, b.position)).toBe(-1);
    await store.close();
  });
});
