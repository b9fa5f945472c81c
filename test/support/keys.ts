import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadModels } from '../../projections/read-models';
import { KeyStore } from '../../src/keys/key-store';
import { FileMasterKeyring } from '../../src/keys/master-keys';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { KEYS_FOLDER_PREFIX } from './temp-folders';
import { SqliteEventStore, type SqliteEventStoreOptions } from '../../src/store/sqlite-event-store';

/** One folder per test file for the master keys testKeys() makes, each key store's in it. */
let keysFolder: string | undefined;
function masterKeysFolder(): string {
  keysFolder ??= mkdtempSync(join(tmpdir(), KEYS_FOLDER_PREFIX()));
  return mkdtempSync(join(keysFolder, 'master-'));
}

/** A key store of its own (in memory, master keys in a fresh folder), for tests that seal. */
export function testKeys(): KeyStore {
  return new KeyStore(':memory:', FileMasterKeyring.open(masterKeysFolder()));
}

/** An embedded store and read models that seal with the same keys, as the service's do. */
export function sealedLedger(file: string, viewsFile: string, options: SqliteEventStoreOptions = {}, keys = testKeys()) {
  const store = new SqliteEventStore(file, { ...options, codec: createCodec(keys) });
  const models = ReadModels.open(viewsFile, readModelCrypto(keys), undefined, ledgerReaderOf(store));
  return { keys, store, models };
}
