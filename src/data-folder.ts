import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * One data folder, one process (OPERATIONS.md "One process per data folder"), and every file
 * in it owner-only.
 *
 * The lock is `DATA_DIR/lock.db`, an SQLite file on which the holder keeps a write transaction
 * open (`BEGIN IMMEDIATE`: SQLite's RESERVED lock, an fcntl lock on the file) for as long as it
 * runs. Why this and not a pid file opened with O_EXCL:
 * - the operating system drops the lock when the process dies, however it dies (SIGKILL, power
 *   cut of a container): nothing stale to clean up, no pid to test for liveness, no pid reused
 *   by an unrelated process after a reboot to be fooled by;
 * - SQLite also refuses a second connection of the same process (it tracks its locks per file,
 *   across connections), so two services in one process (the tests) are refused the same way;
 * - a RESERVED lock still lets others read, so a refused process reads who holds the folder
 *   (pid, host, since when) from the same file and names it in its one line.
 * Read-only commands (`ledger verify`, `export`, `token`, `replay`, `audit verify-proof`) do
 * not take the lock and keep working beside a running service.
 */
export const lockFileOf = (dataDir: string) => join(dataDir, 'lock.db');

export interface DataFolder {
  readonly dataDir: string;
  /** Lets another process have the folder; idempotent. */
  release(): void;
}

export class DataFolderInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder | undefined,
  ) {
    const who = holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'pid unknown';
    super(`DATA_DIR ${dataDir} is in use by another ledger process (${who}, ${lockFileOf(dataDir)}); stop it first`);
    this.name = 'DataFolderInUse';
  }
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly nonce: string;
}

interface FolderSettings {
  readonly dataDir: string;
  /** With EventStoreDB there is no DATA_DIR/ledger.db but a DATA_DIR/audit/merkle.db. */
  readonly eventStoreUrl?: string;
}

/**
 * Makes the data folder owner-only and takes it for this process: what the service and the
 * commands that need it stopped (`rebuild`, `retention`, `keys rotate`, `audit rotate-key`) do first.
 */
export function holdDataFolder(settings: FolderSettings): DataFolder {
  secureDataFolder(settings);
  return lockDataFolder(settings.dataDir);
}

/**
 * DATA_DIR and what is in it owner-only (folders 0700, files 0600), whatever the umask:
 * - DATA_DIR is made 0700;
 * - the SQLite files the service opens are made here, empty and 0600, before SQLite opens them:
 *   SQLite gives an empty database file the mode it has, and its `-wal`, `-shm` and `-journal`
 *   files the mode of their database file (not the umask), so they are 0600 too;
 * - whatever is already there (a folder made by an older version, or under another umask) is
 *   narrowed to owner-only.
 * The modules that write keys make them 0600 in 0700 folders themselves.
 */
export function secureDataFolder(settings: FolderSettings): void {
  const { dataDir } = settings;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  narrow(dataDir, 0o700);
  const files = [
    lockFileOf(dataDir),
    join(dataDir, 'views.db'),
    join(dataDir, 'idempotency.db'),
    join(dataDir, 'keys', 'keys.db'),
    join(dataDir, 'audit', 'checkpoints.db'),
    settings.eventStoreUrl ? join(dataDir, 'audit', 'merkle.db') : join(dataDir, 'ledger.db'),
  ];
  for (const file of files) ownerOnlyFile(file);
  narrowTree(dataDir);
}

/** Creates `file` (and its folder) owner-only if absent, and makes it 0600 if present. */
export function ownerOnlyFile(file: string): void {
  const folder = join(file, '..');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  narrow(folder, 0o700);
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

function narrowTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // gone since it was listed (a file written aside and renamed)
    }
    if (stat.isSymbolicLink()) continue; // a mounted secret elsewhere: its own owner's business
    if (stat.isDirectory()) {
      narrow(path, 0o700);
      narrowTree(path);
    } else if (stat.isFile()) narrow(path, 0o600);
  }
}

/** Takes away group and other bits; a file owned by someone else is left as it is. */
function narrow(path: string, mode: number): void {
  const current = lstatSync(path).mode & 0o777;
  if ((current & 0o077) === 0) return;
  try {
    chmodSync(path, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}

/** Takes DATA_DIR for this process, or throws DataFolderInUse naming the holder. */
export function lockDataFolder(dataDir: string): DataFolder {
  const file = lockFileOf(dataDir);
  ownerOnlyFile(file);
  // timeout 0: a folder in use is refused at once, never waited for.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('synchronous = OFF');
    const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomUUID() };
    // The holder's row is committed first (readers see only committed rows), then the lock is
    // taken again and kept. Another process may slip in between the two; whoever then holds the
    // lock checks that the row is its own, and else writes it again.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!begin(db)) throw new DataFolderInUse(dataDir, holderOf(db));
      db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL, nonce TEXT NOT NULL)');
      db.prepare('INSERT OR REPLACE INTO holder (id, pid, host, since, nonce) VALUES (1, ?, ?, ?, ?)').run(me.pid, me.host, me.since, me.nonce);
      db.exec('COMMIT');
      if (!begin(db)) throw new DataFolderInUse(dataDir, holderOf(db));
      if (holderOf(db)?.nonce === me.nonce) {
        let held = true;
        return {
          dataDir,
          release: () => {
            if (!held) return;
            held = false;
            db.exec('ROLLBACK');
            db.close();
          },
        };
      }
      db.exec('ROLLBACK');
    }
    throw new DataFolderInUse(dataDir, holderOf(db));
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    throw error;
  }
}

/** BEGIN IMMEDIATE: the write lock, or false when another connection (any process) holds it. */
function begin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  }
}

function holderOf(db: Database.Database): Holder | undefined {
  try {
    return db.prepare('SELECT pid, host, since, nonce FROM holder WHERE id = 1').get() as Holder | undefined;
  } catch {
    return undefined; // no row yet, or the holder is writing it this instant
  }
}
