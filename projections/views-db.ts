import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The read side's own SQLite file (DATA_DIR/views.db), in both store modes. Everything in it is
 * computed from the ledger and can be rebuilt from position 0 (`ledger rebuild`), so commits
 * need not be fsynced one by one: `synchronous=NORMAL` in WAL mode keeps every transaction
 * atomic (the read models and the checkpoint move together) and may lose only the last ones
 * on power loss, which the subscription then delivers again.
 */
export function openViewsDb(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.exec(`CREATE TABLE IF NOT EXISTS checkpoint (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL
  )`);
  return db;
}
