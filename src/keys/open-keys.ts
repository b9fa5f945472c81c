import { join } from 'node:path';
import type { ReadModelCrypto } from '../../projections/read-models';
import type { Config } from '../config';
import { caseSealer, createCodec } from '../store/codec';
import { KeyStore } from './key-store';
import { FileMasterKeyring } from './master-keys';

/** DATA_DIR/keys: the key store (keys.db) and, unless MASTER_KEY_DIR says otherwise, the master keys. */
export const keysDirOf = (dataDir: string) => join(dataDir, 'keys');

export function openKeyStore(config: Pick<Config, 'dataDir' | 'masterKeyDir'>): KeyStore {
  const dir = keysDirOf(config.dataDir);
  return new KeyStore(join(dir, 'keys.db'), FileMasterKeyring.open(config.masterKeyDir ?? join(dir, 'master')));
}

/** The codec and the view sealer of one key store: what the read models need to read and keep personal data. */
export function readModelCrypto(keys: KeyStore): ReadModelCrypto {
  return { codec: createCodec(keys), sealer: caseSealer(keys) };
}
