import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { eventStoreContract } from './event-store.contract';

describe('the embedded SQLite event store', () => {
  eventStoreContract(
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-store-'));
      const store = new SqliteEventStore(join(dir, 'ledger.db'), { pollIntervalMs: 20 });
      return {
        store,
        close: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { eventsBeforeFilteredCheckpoint: 5 },
  );
});
