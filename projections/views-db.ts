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
export const VIEWS_SCHEMA = 6;

/**
 * `ledger`: the identity of the store the views are computed from (EventStore.identity()). A
 * views file made from another log (the data folder moved from SQLite to EventStoreDB or back,
 * the server's data wiped) is thrown away like one of another shape: its checkpoint is a
 * position in a log that is not this one.
 */
/** Removes a views file with its write-ahead log: views are computed again from the ledger. */
export function removeViewsDb(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

export function openViewsDb(file: string, ledger?: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db = new Database(file);
  const version = db.pragma('user_version', { simple: true }) as number;
  const used = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n > 0;
  const madeFrom = used && ledger !== undefined ? madeFromLedger(db) : undefined;
  const otherLedger = ledger !== undefined && madeFrom !== undefined && madeFrom !== ledger;
  if (used && (version !== VIEWS_SCHEMA || otherLedger) && file !== ':memory:') {
    db.close();
    removeViewsDb(file);
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
  );
  CREATE TABLE IF NOT EXISTS made_from (ledger TEXT NOT NULL)`);
  if (ledger !== undefined) db.prepare('INSERT INTO made_from (ledger) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM made_from)').run(ledger);
  return db;
}

/** The ledger a used views file was made from; '' for a file from before this was recorded (with a checkpoint: of unknown origin). */
function madeFromLedger(db: Database.Database): string | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'made_from'").get();
  const row = table ? (db.prepare('SELECT ledger FROM made_from').get() as { ledger: string } | undefined) : undefined;
  return row?.ledger ?? '';
}
