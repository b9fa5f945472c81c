import Database from 'better-sqlite3';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MasterKeyring } from './master-keys';
import { columnExists } from '../store/sqlite-schema';

/**
 * The key store (DATA_DIR/keys/keys.db, its own SQLite file in both store modes): every
 * person's data keys, wrapped by a master key; which data key seals each case; the secret of
 * the keyed hash that names a person without naming them. A copy of the data folder without
 * this file (and its master keys) is a copy of ciphertext and pseudonyms only.
 *
 * Erasure destroys a person's data keys: the rows are deleted with `secure_delete` on and the
 * write-ahead log truncated, so the wrapped bytes are overwritten in the file, not only
 * unlinked. Every file that held that person's data (the ledger, the views, in EventStoreDB mode
 * the views file's copy of the events) is then unreadable at once. An erasure is not answered
 * until the log is truncated (purgeLog(): KeyLogBusyError while another connection reads).
 * Backups of this file still hold the keys until they expire: the erasure window is the backup
 * retention (docs/OPERATIONS.md); restored, the keys the ledger records as erased are destroyed
 * again at start (Erasures.applyLedgerErasures()).
 */
export interface DataKey {
  readonly id: string;
  readonly key: Buffer;
}

const INDEX_SECRET = 'person-index';
/** Attempts at truncating the write-ahead log, each waiting this long for readers (busy_timeout) and then a little more. */
const TRUNCATE_ATTEMPTS = 5;
const TRUNCATE_WAIT_MS = 100;

/**
 * The key store's write-ahead log could not be truncated (another connection was reading it):
 * what was just destroyed or rewrapped may still be in keys.db-wal. A storage fault (code
 * SQLITE_BUSY, answered 503): the erasure is retried, or completed at the next start.
 */
export class KeyLogBusyError extends Error {
  readonly code = 'SQLITE_BUSY';
  constructor(what: string) {
    super(`the key store's write-ahead log could not be truncated after ${what}: another connection is reading it; try again`);
    this.name = 'KeyLogBusyError';
  }
}
const CURSOR_SECRET = 'paging-cursors';

/** An erasure as the key store keeps it until the ledger holds its event (and after). */
export interface ErasureRecord {
  readonly erasedAt: string;
  readonly zone: string;
  readonly agency: string;
  readonly operator: string;
  readonly legalBasis: string;
  readonly reason: string;
}

export class KeyStore {
  private readonly db: Database.Database;
  private readonly s;
  private readonly cache = new Map<string, { subject: string; key: Buffer }>();
  private readonly caseKeys = new Map<string, string>();
  private readonly indexSecret: Buffer;
  /** What the batch under way made, to forget should it roll back; `begun` once it holds a transaction. */
  private made: { keys: string[]; cases: string[]; begun: boolean } | undefined;

  constructor(
    file: string,
    private readonly masters: MasterKeyring,
    private readonly maxCached = 20_000,
  ) {
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    }
    this.db = new Database(file);
    if (file !== ':memory:') chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    // A data key must be on disk before any event sealed with it is: full durability.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS data_keys (
        key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, master TEXT NOT NULL, wrapped BLOB NOT NULL, created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS data_keys_by_subject ON data_keys (subject);
      CREATE TABLE IF NOT EXISTS case_keys (case_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, subject TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS case_keys_by_subject ON case_keys (subject);
      CREATE TABLE IF NOT EXISTS erasures (
        subject TEXT PRIMARY KEY, erased_at TEXT NOT NULL, zone TEXT NOT NULL, agency TEXT NOT NULL, operator TEXT NOT NULL, legal_basis TEXT NOT NULL, reason TEXT NOT NULL,
        recorded INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, master TEXT NOT NULL, wrapped BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    // A key store made before an erasure's event was marked recorded: each is looked at once more, at the next start.
    if (!columnExists(this.db, 'erasures', 'recorded')) this.db.exec('ALTER TABLE erasures ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0');
    this.s = {
      key: this.db.prepare<[string], { subject: string; master: string; wrapped: Buffer }>('SELECT subject, master, wrapped FROM data_keys WHERE key_id = ?'),
      subjectKey: this.db.prepare<[string], { key_id: string }>('SELECT key_id FROM data_keys WHERE subject = ? ORDER BY created_at DESC LIMIT 1'),
      insertKey: this.db.prepare<[string, string, string, Buffer, string]>('INSERT INTO data_keys (key_id, subject, master, wrapped, created_at) VALUES (?, ?, ?, ?, ?)'),
      caseKey: this.db.prepare<[string], { key_id: string }>('SELECT key_id FROM case_keys WHERE case_id = ?'),
      linkCase: this.db.prepare<[string, string, string]>('INSERT OR IGNORE INTO case_keys (case_id, key_id, subject) VALUES (?, ?, ?)'),
      casesOf: this.db.prepare<[string], { case_id: string }>('SELECT case_id FROM case_keys WHERE subject = ?'),
      subjectOfCase: this.db.prepare<[string], { subject: string }>('SELECT subject FROM case_keys WHERE case_id = ?'),
      destroy: this.db.prepare<[string]>('DELETE FROM data_keys WHERE subject = ?'),
      destroyKey: this.db.prepare<[string, string]>('DELETE FROM data_keys WHERE key_id = ? AND subject = ?'),
      keysWithCases: this.db.prepare<[], { key_id: string; subject: string; created_at: string; cases: string | null }>(
        'SELECT k.key_id, k.subject, k.created_at, group_concat(c.case_id) AS cases FROM data_keys k LEFT JOIN case_keys c ON c.key_id = k.key_id GROUP BY k.key_id',
      ),
      meta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
      erasedIfLater: this.db.prepare<[string, string, string, string, string, string, string]>(
        `INSERT INTO erasures (subject, erased_at, zone, agency, operator, legal_basis, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subject) DO UPDATE SET erased_at = excluded.erased_at, zone = excluded.zone, agency = excluded.agency,
           operator = excluded.operator, legal_basis = excluded.legal_basis, reason = excluded.reason, recorded = 0
         WHERE excluded.erased_at > erasures.erased_at`,
      ),
      erased: this.db.prepare<[string, string, string, string, string, string, string]>(
        // A later erasure (of keys made for a referral after the first) replaces the record: reconcile() needs the last.
        'INSERT OR REPLACE INTO erasures (subject, erased_at, zone, agency, operator, legal_basis, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      unrecordedErasures: this.db.prepare<[], { subject: string; erased_at: string; zone: string; agency: string; operator: string; legal_basis: string; reason: string }>(
        'SELECT * FROM erasures WHERE recorded = 0',
      ),
      markRecorded: this.db.prepare<[string, string]>('UPDATE erasures SET recorded = 1 WHERE subject = ? AND erased_at = ?'),
      erasedAt: this.db.prepare<[string], { erased_at: string; zone: string }>('SELECT erased_at, zone FROM erasures WHERE subject = ?'),
      secret: this.db.prepare<[string], { master: string; wrapped: Buffer }>('SELECT master, wrapped FROM secrets WHERE name = ?'),
      insertSecret: this.db.prepare<[string, string, Buffer]>('INSERT OR IGNORE INTO secrets (name, master, wrapped) VALUES (?, ?, ?)'),
      allKeys: this.db.prepare<[], { key_id: string; subject: string; master: string; wrapped: Buffer }>('SELECT key_id, subject, master, wrapped FROM data_keys'),
      allSecrets: this.db.prepare<[], { name: string; master: string; wrapped: Buffer }>('SELECT name, master, wrapped FROM secrets'),
      rewrapKey: this.db.prepare<[string, Buffer, string]>('UPDATE data_keys SET master = ?, wrapped = ? WHERE key_id = ?'),
      rewrapSecret: this.db.prepare<[string, Buffer, string]>('UPDATE secrets SET master = ?, wrapped = ? WHERE name = ?'),
    };
    this.indexSecret = this.secret(INDEX_SECRET);
  }

  /**
   * The pseudonym of a person: a keyed hash (HMAC-SHA-256) of the fiscal code under a secret of
   * this key store. A bare hash could be reversed by enumerating the codice fiscale space, which
   * is small and structured; without the secret, a keyed one cannot.
   */
  personId(fiscalCode: string): string {
    return createHmac('sha256', this.indexSecret).update(fiscalCode.trim().toUpperCase()).digest('hex');
  }

  /** The key that seals paging cursors (src/http/cursor.ts): made once, kept wrapped like every other secret. */
  cursorKey(): Buffer {
    return this.secret(CURSOR_SECRET);
  }

  /** A keyed hash of anything else that must be compared without being kept (an idempotent request's body). */
  fingerprint(text: string): string {
    return createHmac('sha256', this.indexSecret).update('fingerprint\u0000').update(text).digest('hex');
  }

  /**
   * The data key that seals a new case of this person (made now), linked to the case: durable
   * before it returns, or, inside a batch, when the batch returns. A person erased and referred
   * again gets a new key: what was erased stays so.
   */
  keyForNewCase(caseId: string, fiscalCode: string): DataKey {
    const existing = this.keyOfCase(caseId);
    if (existing) return existing;
    // The first key a batch makes opens its transaction, under the write lock from its first read.
    if (this.made && !this.made.begun) {
      this.db.exec('BEGIN IMMEDIATE');
      this.made.begun = true;
    }
    const subject = this.personId(fiscalCode);
    let keyId = this.s.subjectKey.get(subject)?.key_id;
    if (!keyId) {
      keyId = randomUUID();
      const key = randomBytes(32);
      const master = this.masters.current;
      this.s.insertKey.run(keyId, subject, master.id, master.wrap(key, keyId), new Date().toISOString());
      this.remember(keyId, subject, key);
      this.made?.keys.push(keyId);
    }
    this.s.linkCase.run(caseId, keyId, subject);
    this.caseKeys.set(caseId, keyId);
    this.made?.cases.push(caseId);
    return { id: keyId, key: this.dataKey(keyId)! };
  }

  /**
   * Runs `work` so that the data keys and case links it makes are committed together when it
   * returns, in one transaction of the key store, with one sync (synchronous FULL). The event
   * store encodes a whole group commit so, inside its own transaction and before its own commit:
   * the keys are on disk before any event sealed with them, with one sync for the group rather
   * than one for every new case (each had cost a sync on the main thread). The transaction is
   * opened by the first key made, IMMEDIATE: the write lock is taken before the reads, waiting
   * out another process's writes (busy_timeout), where a read transaction's later upgrade to a
   * write could fail at once (SQLITE_BUSY_SNAPSHOT) and take the group's appends with it. A group
   * without a new case, most of them, begins nothing. If the work or the commit fails, nothing of
   * it is kept, here or in what this process remembers.
   */
  batch<T>(work: () => T): T {
    if (this.made) return work();
    // better-sqlite3 would nest a savepoint in a transaction left open, and the batch would then
    // return uncommitted while the events were committed: never go on from there.
    if (this.db.inTransaction) throw new Error('the key store is inside a transaction it did not finish: its keys cannot be made durable');
    const made = { keys: [] as string[], cases: [] as string[], begun: false };
    this.made = made;
    try {
      const result = work();
      if (made.begun) this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (made.begun && this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const keyId of made.keys) this.cache.delete(keyId);
      for (const caseId of made.cases) this.caseKeys.delete(caseId);
      throw error;
    } finally {
      this.made = undefined;
    }
  }

  /** The data key that seals a case, if the case is known and its person not erased. */
  keyOfCase(caseId: string): DataKey | undefined {
    let keyId = this.caseKeys.get(caseId);
    if (!keyId) {
      keyId = this.s.caseKey.get(caseId)?.key_id;
      if (keyId) this.caseKeys.set(caseId, keyId);
    }
    const key = keyId && this.dataKey(keyId);
    return keyId && key ? { id: keyId, key } : undefined;
  }

  /** A data key by id, unwrapped; undefined once its person is erased. */
  dataKey(keyId: string): Buffer | undefined {
    const cached = this.cache.get(keyId);
    if (cached) return cached.key;
    const row = this.s.key.get(keyId);
    if (!row) return undefined;
    const master = this.masters.get(row.master);
    if (!master) throw new Error(`the key store needs master key ${row.master}, which is not in the keyring`);
    const key = master.unwrap(row.wrapped, keyId);
    this.remember(keyId, row.subject, key);
    return key;
  }

  /** The cases sealed with this person's keys, in every zone. */
  casesOfPerson(fiscalCode: string): string[] {
    return this.s.casesOf.all(this.personId(fiscalCode)).map((r) => r.case_id);
  }

  subjectOfCase(caseId: string): string | undefined {
    return this.s.subjectOfCase.get(caseId)?.subject;
  }

  casesOfSubject(subject: string): string[] {
    return this.s.casesOf.all(subject).map((r) => r.case_id);
  }

  /** The pseudonym a person's keys are filed under. */
  subjectOf(fiscalCode: string): string {
    return this.personId(fiscalCode);
  }

  /** Whether this person has a data key not destroyed (a person erased and referred again has one). */
  hasKey(subject: string): boolean {
    return this.s.subjectKey.get(subject) !== undefined;
  }

  /** This person's last erasure, if they were erased: when, and in which zone. */
  erasure(subject: string): { erasedAt: string; zone: string } | undefined {
    const row = this.s.erasedAt.get(subject);
    return row && { erasedAt: row.erased_at, zone: row.zone };
  }

  /**
   * Destroys every data key of a person and records the erasure, in place of an earlier one of
   * theirs. The rows go with secure_delete on and the write-ahead log is truncated, so no copy of
   * the wrapped keys stays in either file. secure_delete overwrites the rows in the pages, not
   * the log's frames that held them before: only the truncation does. When it cannot (another
   * connection reads the key store), this throws KeyLogBusyError after the keys are gone: the
   * erasure is not answered, and its retry, or reconcile() at the next start, truncates the log
   * (purgeLog()) before recording it.
   */
  destroy(subject: string, erasure: ErasureRecord): void {
    this.db.transaction(() => {
      this.s.destroy.run(subject);
      this.s.erased.run(subject, erasure.erasedAt, erasure.zone, erasure.agency, erasure.operator, erasure.legalBasis, erasure.reason);
    })();
    this.forget(subject);
    this.purgeLog('an erasure');
  }

  /**
   * Destroys some data keys of a person, those an erasure the ledger records (PersonErased) had
   * destroyed and a restored copy of this file brought back, and keeps the erasure as its last
   * one unless it has a later one. Truncates the log as destroy() does.
   */
  destroyKeys(subject: string, keyIds: readonly string[], erasure: ErasureRecord): void {
    this.db.transaction(() => {
      for (const keyId of keyIds) this.s.destroyKey.run(keyId, subject);
      this.s.erasedIfLater.run(subject, erasure.erasedAt, erasure.zone, erasure.agency, erasure.operator, erasure.legalBasis, erasure.reason);
    })();
    this.forget(subject);
    this.purgeLog('an erasure');
  }

  /** Every data key this key store has, by person: its id, when it was made, and the cases it seals. */
  keysOfSubjects(): Map<string, Array<{ keyId: string; createdAt: string; cases: string[] }>> {
    const bySubject = new Map<string, Array<{ keyId: string; createdAt: string; cases: string[] }>>();
    for (const row of this.s.keysWithCases.all()) {
      let keys = bySubject.get(row.subject);
      if (!keys) bySubject.set(row.subject, (keys = []));
      keys.push({ keyId: row.key_id, createdAt: row.created_at, cases: row.cases ? row.cases.split(',') : [] });
    }
    return bySubject;
  }

  /** A value this key store keeps about itself (how far into the ledger its erasures are applied). */
  meta(name: string): string | undefined {
    return this.s.meta.get(name)?.value;
  }

  setMeta(name: string, value: string): void {
    this.s.setMeta.run(name, value);
  }

  /**
   * Truncates the write-ahead log (checkpoint TRUNCATE), so that no frame of it keeps a row
   * deleted or rewritten since; a few attempts, each waiting a little for the readers of
   * another connection to finish. Throws KeyLogBusyError when it still cannot: the caller must
   * not report the work done. Nothing to do for a key store in memory.
   */
  purgeLog(what = 'the last change'): void {
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    try {
      this.db.pragma(`busy_timeout = ${TRUNCATE_WAIT_MS}`);
      for (let attempt = 1; ; attempt++) {
        const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
        // Truncated: not busy, every frame copied (0 and 0; -1 and -1 for a file not in WAL mode).
        if (result && result.busy === 0 && result.log === result.checkpointed) return;
        if (attempt >= TRUNCATE_ATTEMPTS) throw new KeyLogBusyError(what);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, TRUNCATE_WAIT_MS * attempt);
      }
    } finally {
      this.db.pragma(`busy_timeout = ${previous}`);
    }
  }

  /** The last erasure of each person this key store erased whose event the ledger may not hold yet (not marked recorded). */
  erasures(): Array<ErasureRecord & { subject: string }> {
    return this.s.unrecordedErasures.all().map((r) => ({
      subject: r.subject,
      erasedAt: r.erased_at,
      zone: r.zone,
      agency: r.agency,
      operator: r.operator,
      legalBasis: r.legal_basis,
      reason: r.reason,
    }));
  }
  /** The ledger holds this erasure's event: reconcile() no longer looks at it (a later erasure of the person clears the mark). */
  markRecorded(subject: string, erasedAt: string): void {
    this.s.markRecorded.run(subject, erasedAt);
  }

  /** Drops what this process remembers of a person's keys (another connection destroyed them). */
  forget(subject: string): void {
    for (const [keyId, entry] of this.cache) if (entry.subject === subject) this.cache.delete(keyId);
  }

  /**
   * Wraps every data key and secret with the current master key (after MasterKeyring.rotate()).
   * One transaction: a crash leaves every key wrapped with one master or the other, both kept.
   */
  rewrapAll(): number {
    const master = this.masters.current;
    let n = 0;
    this.db.transaction(() => {
      for (const row of this.s.allKeys.all()) {
        if (row.master === master.id) continue;
        const key = this.masters.get(row.master)!.unwrap(row.wrapped, row.key_id);
        this.s.rewrapKey.run(master.id, master.wrap(key, row.key_id), row.key_id);
        n++;
      }
      for (const row of this.s.allSecrets.all()) {
        if (row.master === master.id) continue;
        const secret = this.masters.get(row.master)!.unwrap(row.wrapped, row.name);
        this.s.rewrapSecret.run(master.id, master.wrap(secret, row.name), row.name);
      }
    })();
    // The keys wrapped with the retired master must not stay in the log: a failure here is the operator's to see.
    this.purgeLog('rewrapping the keys');
    return n;
  }

  /** A consistent copy of the key store, taken while it is in use (SQLite's online backup). */
  async backup(to: string): Promise<void> {
    await this.db.backup(to);
    chmodSync(to, 0o600);
  }

  close(): void {
    this.db.close();
  }

  private secret(name: string): Buffer {
    const row = this.s.secret.get(name);
    if (row) return this.masters.get(row.master)!.unwrap(row.wrapped, name);
    const master = this.masters.current;
    this.s.insertSecret.run(name, master.id, master.wrap(randomBytes(32), name));
    // Another process may have inserted it first: read what won.
    const stored = this.s.secret.get(name)!;
    return this.masters.get(stored.master)!.unwrap(stored.wrapped, name);
  }

  private remember(keyId: string, subject: string, key: Buffer): void {
    this.cache.set(keyId, { subject, key });
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }
}
