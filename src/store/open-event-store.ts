import { join } from 'node:path';
import type { EventStore } from '../../events';
import type { LedgerReader } from '../../projections/read-models';
import type { Config } from '../config';
import type { KeyStore } from '../keys/key-store';
import { createCodec } from './codec';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';

/**
 * EVENTSTORE_URL set: EventStoreDB (KurrentDB); otherwise the embedded SQLite ledger in DATA_DIR.
 * Both write through the one codec, sealing personal data with the key store's keys.
 */
export async function openEventStore(config: Pick<Config, 'dataDir' | 'eventStoreUrl'>, keys: KeyStore, options: SqliteEventStoreOptions = {}): Promise<EventStore> {
  const codec = createCodec(keys);
  if (config.eventStoreUrl) {
    // Loaded only when used, so the embedded mode never loads the gRPC client.
    const { EventStoreDbEventStore } = await import('./eventstoredb-event-store');
    return new EventStoreDbEventStore(config.eventStoreUrl, { codec });
  }
  return new SqliteEventStore(join(config.dataDir, 'ledger.db'), { ...options, codec });
}

/**
 * How the read models read a case's events from this store at once, if it can (the embedded
 * ledger): they then keep no copy of them. EventStoreDB cannot; the read models keep the copy.
 */
export function ledgerReaderOf(store: EventStore): LedgerReader | undefined {
  return store instanceof SqliteEventStore ? (stream, upTo) => store.readStreamNow(stream, upTo) : undefined;
}
