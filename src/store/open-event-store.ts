import { join } from 'node:path';
import type { Config } from '../config';
import type { EventStore } from '../../events/event-store';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';

/** EVENTSTORE_URL set: EventStoreDB (KurrentDB); otherwise the embedded SQLite ledger in DATA_DIR. */
export async function openEventStore(config: Pick<Config, 'dataDir' | 'eventStoreUrl'>, options: SqliteEventStoreOptions = {}): Promise<EventStore> {
  if (config.eventStoreUrl) {
    // Loaded only when used, so the embedded mode never loads the gRPC client.
    const { EventStoreDbEventStore } = await import('./eventstoredb-event-store');
    return new EventStoreDbEventStore(config.eventStoreUrl);
  }
  return new SqliteEventStore(join(config.dataDir, 'ledger.db'), options);
}
