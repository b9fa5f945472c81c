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

  it('keeps its identity when reopened, and a new file has another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-store-'));
    try {
      const first = new SqliteEventStore(join(dir, 'ledger.db'));
      const id = await first.identity();
      await first.close();
      const again = new SqliteEventStore(join(dir, 'ledger.db'));
      expect(await again.identity()).toBe(id);
      await again.close();
      const other = new SqliteEventStore(join(dir, 'other.db'));
      expect(await other.identity()).not.toBe(id);
      await other.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
