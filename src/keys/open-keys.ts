import { join } from 'node:path';
import type { ReadModelCrypto } from '../../projections/read-models';
import type { Config } from '../config';
import { type DataFolder, holdDataFolder } from '../data-folder';
import { caseSealer, createCodec } from '../store/codec';
import { KeyStore } from './key-store';
import { FileMasterKeyring } from './master-keys';

/** DATA_DIR/keys: the key store (keys.db) and, unless MASTER_KEY_DIR says otherwise, the master keys. */
export const keysDirOf = (dataDir: string) => join(dataDir, 'keys');

/**
 * The key store of a data folder. With `holdFolder` (the service), the data folder is first
 * made owner-only and taken for this process (src/data-folder.ts: DataFolderInUse if another
 * holds it), and the key store keeps it: the service closes its key store last, and closing it
 * lets the folder go.
 */
export function openKeyStore(config: Pick<Config, 'dataDir' | 'masterKeyDir' | 'eventStoreUrl'>, options: { holdFolder?: boolean } = {}): KeyStore {
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
