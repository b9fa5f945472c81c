import { comparePositions } from '../../events/event-store';
import { EventStoreDbEventStore } from '../../src/store/eventstoredb-event-store';
import { note } from '../support/events';
import { eventStoreContract } from './event-store.contract';

/**
 * The same contract suite as the embedded store's, against EventStoreDB: through
 * EVENTSTORE_URL, or a container the global setup started (test/global-setup.ts). Without
 * either it is skipped, and the global setup says why, in one line.
 */
const url = process.env.EVENTSTORE_URL;
const describeWithServer = url ? describe : describe.skip;

describeWithServer('the EventStoreDB event store', () => {
  eventStoreContract(
    async () => {
      const store = new EventStoreDbEventStore(url!, { checkpointInterval: 1 });
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
    // checkpointInterval 1: a checkpoint every 32 events the server scans.
    { eventsBeforeFilteredCheckpoint: 64 },
  );

  it('keeps positions comparable with the commit and prepare of the server', async () => {
    const store = new EventStoreDbEventStore(url!);
    const a = await store.append(`t-${Date.now()}-a`, [note('a')], 'no-stream');
    const b = await store.append(`t-${Date.now()}-b`, [note('b')], 'no-stream');
    expect(comparePositions(a.position, b.position)).toBe(-1);
    await store.close();
  });
});
