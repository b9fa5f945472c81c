import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadModelCrypto } from '../../projections/read-models';
import type { Config } from '../config';
import { type DataFolder, holdDataFolder, secureDataFolder } from '../data-folder';
import { caseSealer, createCodec } from '../store/codec';
import { KeyStore } from './key-store';
import { FileMasterKeyring } from './master-keys';

/** DATA_DIR/keys: the key store (keys.db) and, unless MASTER_KEY_DIR says otherwise, the master keys. */
export const keysDirOf = (dataDir: string) => join(dataDir, 'keys');

/**
 * For a command that works on a data folder the service made (verify, export, replay, retention,
 * rebuild, key rotation, backups): its key store must be there. Opening one would make it, with
 * a new master key, and the command would report on an empty ledger ("ok: 0 events") in a
 * folder mistyped or not mounted.
 */
export function assertDataFolder(dataDir: string): void {
  if (!existsSync(join(keysDirOf(dataDir), 'keys.db'))) {
    throw new Error(`DATA_DIR ${dataDir} holds no key store (keys/keys.db): it is not a data folder the service has used; nothing was made there`);
  }
}

/**
 * The key store of a data folder (`existing`: one there must be, assertDataFolder). The folder
 * and its SQLite files are made owner-only first (src/data-folder.ts), so that a command making
 * them (`protocol apply` on a new folder) makes them as the service would. With `holdFolder`
 * (the service) the folder is also taken for this process (DataFolderInUse if another holds
 * it), and the key store keeps it: the service closes its key store last, and closing it lets
 * the folder go.
 */
export function openKeyStore(config: Pick<Config, 'dataDir' | 'masterKeyDir' | 'eventStoreUrl'>, options: { holdFolder?: boolean; existing?: boolean } = {}): KeyStore {
  if (options.existing) assertDataFolder(config.dataDir);
  if (!options.holdFolder) secureDataFolder(config);
  const folder = options.holdFolder ? holdDataFolder(config) : undefined;
  try {
    const dir = keysDirOf(config.dataDir);
    const file = join(dir, 'keys.db');
    const masters = FileMasterKeyring.open(config.masterKeyDir ?? join(dir, 'master'));
    return folder ? new HoldingKeyStore(file, masters, folder) : new KeyStore(file, masters);
  } catch (error) {
    folder?.release();
    throw error;
  }
}

class HoldingKeyStore extends KeyStore {
  constructor(
    file: string,
    masters: FileMasterKeyring,
    private readonly folder: DataFolder,
  ) {
    super(file, masters);
  }

  override close(): void {
    try {
      super.close();
    } finally {
      this.folder.release();
    }
  }
}

/** The codec and the view sealer of one key store: what the read models need to read and keep personal data. */
export function readModelCrypto(keys: KeyStore): ReadModelCrypto {
  return { codec: createCodec(keys), sealer: caseSealer(keys) };
}
