import Database from 'better-sqlite3';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config';

/** What a backup holds, relative to DATA_DIR: the ledger and everything that cannot be recomputed from it. */
export const BACKED_UP = ['ledger.db', join('keys', 'keys.db'), join('audit', 'checkpoints.db'), 'idempotency.db'] as const;

/**
 * An online backup of a data folder, taken while the service runs (SQLite's backup API on a
 * connection of its own: each file a consistent snapshot), into an owner-only folder. The views
 * are left out (the service computes them again from the ledger); so are the master keys, which
 * must be backed up apart from the key store (docs/OPERATIONS.md "Backup and restore"). The
 * checkpoint-signing keys and the local token key are copied when they live in the data folder
 * (secrets: the backup folder is owner-only).
 */
function ownerOnly(path: string): void {
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o700);
    for (const name of readdirSync(path)) ownerOnly(join(path, name));
  } else chmodSync(path, 0o600);
}

export async function backupDataFolder(config: Pick<Config, 'dataDir' | 'auditKeyDir'>, to: string): Promise<string[]> {
  if (existsSync(to) && readdirSync(to).length > 0) throw new Error(`${to} is not empty: back up into a new folder`);
  mkdirSync(to, { recursive: true, mode: 0o700 });
  chmodSync(to, 0o700);
  const copied: string[] = [];
  for (const file of BACKED_UP) {
    const from = join(config.dataDir, file);
    if (!existsSync(from)) continue;
    const target = join(to, file);
    mkdirSync(join(target, '..'), { recursive: true, mode: 0o700 });
    const db = new Database(from, { readonly: true, fileMustExist: true });
    try {
      await db.backup(target);
    } finally {
      db.close();
    }
    chmodSync(target, 0o600);
    copied.push(file);
  }
  // Secrets that live in the data folder unless configured elsewhere: the checkpoint keys and the local token key.
  const secrets = [...(config.auditKeyDir ? [] : [join('audit', 'keys')]), 'auth'];
  for (const folder of secrets) {
    const from = join(config.dataDir, folder);
    if (!existsSync(from)) continue;
    cpSync(from, join(to, folder), { recursive: true });
    ownerOnly(join(to, folder));
    copied.push(folder);
  }
  return copied;
}
