import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The read side's own SQLite file (DATA_DIR/views.db), in both store modes. Everything in it is
 * computed from the ledger and can be rebuilt from position 0 (`ledger rebuild`), so commits
 * need not be fsynced one by one: `synchronous=NORMAL` in WAL mode keeps every transaction
 * atomic (the read models and the checkpoint move together) and may lose only the last ones
 * on power loss, which the subscription then delivers again.
 */
/**
 * The shape of the read models' tables, and of what the policy puts in them. When either
 * changes, a views file of another version is thrown away on open and the runner projects the
 * ledger again from position 0: the views are a function of the ledger, never migrated by hand.
 * 8: a pending protocol proposal no longer changes the kinds views classify agencies by, an
 * authorisation's purposes are all shown (a list), not the first one alone, and members are
 * listed in an order the agency sees; the list of cases is paged by opening (an index of its own).
 */
export const VIEWS_SCHEMA = 8;

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

/**
 * Beside a views file while `ledger rebuild` writes it without a write-ahead log (openViewsDbForBuild):
 * as long as it is there, the file may be torn (a rebuild stopped halfway), and is never read.
 */
export const buildMarkerOf = (file: string): string => `${file}.building`;

export function openViewsDb(file: string, ledger?: string): Database.Database {
  if (file !== ':memory:' && existsSync(buildMarkerOf(file))) {
    throw new Error(
      `the views file ${file} is being rebuilt, or its rebuild was stopped halfway: run "ledger rebuild" again, or start the service, which computes the views again`,
    );
  }
  return open(file, ledger);
}

function open(file: string, ledger?: string): Database.Database {
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

/**
 * A views file to be computed from position 0 by this connection alone, the service stopped
 * (`ledger rebuild`). While it is written there is no write-ahead log and no sync (the rollback
 * journal in memory, `synchronous=OFF`): every page is written once, to the file, instead of to
 * the log and again to the file at each checkpoint, with the checkpoints' syncs. A power cut or a
 * crash can then leave the file torn, so a marker beside it (buildMarkerOf) says so until
 * finishBuild has made the file whole, durable and a WAL file again; an opener meanwhile is
 * refused, and the service, on start, throws such a file away and computes the views again
 * (discardStoppedBuild). `file` must be absent or empty (the caller removed the views it replaces).
 */
export function openViewsDbForBuild(file: string, ledger?: string): Database.Database {
  const marker = buildMarkerOf(file);
  closeSync(openSync(marker, 'w', 0o600));
  syncPath(marker);
  syncPath(dirname(file));
  const db = open(file, ledger);
  db.pragma('journal_mode = MEMORY');
  db.pragma('synchronous = OFF');
  return db;
}

/** The end of a build: the file made a WAL file again, closed, synced, and only then its marker removed. */
export function finishBuild(db: Database.Database, file: string): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.close();
  syncPath(file);
  rmSync(buildMarkerOf(file), { force: true });
  syncPath(dirname(file));
}

/**
 * Throws away a views file whose build was stopped halfway (its marker is still there); true
 * if it did. Only a process that holds the data folder calls it (the service on start).
 */
export function discardStoppedBuild(file: string): boolean {
  const marker = buildMarkerOf(file);
  if (file === ':memory:' || !existsSync(marker)) return false;
  removeViewsDb(file);
  rmSync(marker, { force: true });
  syncPath(dirname(file));
  return true;
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The ledger a used views file was made from; '' for a file from before this was recorded (with a checkpoint: of unknown origin). */
function madeFromLedger(db: Database.Database): string | undefined {
  const row = tableExists(db, 'made_from') ? (db.prepare('SELECT ledger FROM made_from').get() as { ledger: string } | undefined) : undefined;
  return row?.ledger ?? '';
}

/** Whether the file has a table of this name (read models made by another version may lack one). */
export function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
