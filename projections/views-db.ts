import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The read side's own SQLite file (DATA_DIR/views.db), in both store modes. Everything in it is
 * computed from the ledger and can be rebuilt from position 0 (`ledger rebuild`), so commits
 * need not be fsynced one by one: `synchronous=NORMAL` in WAL mode keeps every transaction
 * atomic (the read models and the checkpoint move together) and may lose only the last ones
 * on power loss, which the subscription then delivers again.
 */
/**
 * The shape of the read models' tables. When it changes, a views file of another shape is
 * thrown away on open and the runner projects the ledger again from position 0: the views are
 * a function of the ledger, never migrated by hand.
 */
export const VIEWS_SCHEMA = 4;

export function openViewsDb(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db = new Database(file);
  const version = db.pragma('user_version', { simple: true }) as number;
  const used = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n > 0;
  if (used && version !== VIEWS_SCHEMA && file !== ':memory:') {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    db = new Database(file);
  }
  db.pragma(`user_version = ${VIEWS_SCHEMA}`);
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
