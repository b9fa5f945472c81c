import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { columnExists } from '../store/sqlite-schema';

/** The first response to a request sent with an Idempotency-Key, kept 24 hours (API.md "Conventions"). */
export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly location?: string;
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What a key holds in its window: the command it stands for and, once answered, the answer. */
export type Reservation = { readonly commandId: string; readonly response?: StoredResponse } | 'reused';

/**
 * Idempotency-Keys by (zone, agency, key), each for 24 hours from its first use. A key is
 * reserved, durably (`synchronous=FULL`), before its command runs: the reservation names a
 * command id made for it, which the command's events derive their ids from. So a repeat within
 * the window runs as the same command — the ledger recognises its events if they were written and
 * answers what it did — whatever happened between the append and the saved answer (a crash, a
 * failed write of this file). After the window the key is free: a new reservation, a new
 * command, never the old one's ids.
 */
export class IdempotencyStore {
  private readonly db: Database.Database;
  private readonly s;
  private writes = 0;

  /**
   * `hashKey`: the keyed hash a key is filed under. A client chooses its keys and may put anything
   * in them (`referral-<fiscal code>`): the file keeps none of them in clear (issue 11).
   */
  constructor(
    file: string,
    private readonly hashKey: (key: string) => string,
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // Version 2 reserves keys; the first version's rows (answers without a command id) are dropped.
    if (!columnExists(this.db, 'idempotency', 'command_id')) this.db.exec('DROP TABLE IF EXISTS idempotency');
    this.db.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      zone TEXT NOT NULL, agency TEXT NOT NULL, key TEXT NOT NULL,
      fingerprint TEXT NOT NULL, command_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      status INTEGER, body TEXT, location TEXT,
      PRIMARY KEY (zone, agency, key))`);
    // user_version 1: keys are filed hashed. A file of an earlier version has its keys hashed now,
    // in one transaction, so a repeat in the window still finds its reservation after an upgrade.
    // What a row held (a released key's answer, a key in clear) is overwritten, not left in free pages.
    this.db.pragma('secure_delete = ON');
    if ((this.db.pragma('user_version', { simple: true }) as number) < 1) {
      this.db.transaction(() => {
        const rows = this.db.prepare<[], { rowid: number; key: string }>('SELECT rowid, key FROM idempotency').all();
        const rename = this.db.prepare<[string, number]>('UPDATE idempotency SET key = ? WHERE rowid = ?');
        for (const row of rows) rename.run(hashKey(row.key), row.rowid);
        this.db.pragma('user_version = 1');
      })();
      // The keys in clear must not stay in the write-ahead log either.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    this.s = {
      get: this.db.prepare<[string, string, string, number], { fingerprint: string; command_id: string; status: number | null; body: string | null; location: string | null }>(
        'SELECT fingerprint, command_id, status, body, location FROM idempotency WHERE zone = ? AND agency = ? AND key = ? AND created_at > ?',
      ),
      reserve: this.db.prepare<[string, string, string, string, string, number]>(
        'INSERT OR REPLACE INTO idempotency (zone, agency, key, fingerprint, command_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      complete: this.db.prepare<[number, string, string | null, string, string, string, string]>(
        'UPDATE idempotency SET status = ?, body = ?, location = ? WHERE zone = ? AND agency = ? AND key = ? AND command_id = ?',
      ),
      release: this.db.prepare<[string, string, string, string]>('DELETE FROM idempotency WHERE zone = ? AND agency = ? AND key = ? AND command_id = ?'),
      purge: this.db.prepare<[number]>('DELETE FROM idempotency WHERE created_at <= ?'),
      answer: this.db.prepare<[string, string, string, string], { status: number | null; body: string | null; location: string | null }>(
        'SELECT status, body, location FROM idempotency WHERE zone = ? AND agency = ? AND key = ? AND command_id = ?',
      ),
    };
  }

  /**
   * The key's reservation in its window: the same request gets its command id (and its answer,
   * once there is one); another request with the key is 'reused'. A key not used in the last 24
   * hours is reserved for this request, with a new command id. Durable when it returns.
   */
  reserve(scope: { zone: string; agency: string }, key: string, fingerprint: string, now: number): Reservation {
    const filed = this.hashKey(key);
    return this.db
      .transaction((): Reservation => {
        const row = this.s.get.get(scope.zone, scope.agency, filed, now - IDEMPOTENCY_WINDOW_MS);
        if (row) {
          if (row.fingerprint !== fingerprint) return 'reused';
          return {
            commandId: row.command_id,
            ...(row.status !== null ? { response: { status: row.status, body: JSON.parse(row.body!) as unknown, location: row.location ?? undefined } } : {}),
          };
        }
        const commandId = randomUUID();
        this.s.reserve.run(scope.zone, scope.agency, filed, fingerprint, commandId, now);
        if (++this.writes % 1000 === 0) this.s.purge.run(now - IDEMPOTENCY_WINDOW_MS);
        return { commandId };
      })
      .immediate();
  }

  /**
   * The command's answer, kept for repeats. Not fsynced on its own (the next reservation's fsync
   * carries it): an answer lost in a crash costs a repeat only a rerun of the same command, which
   * the ledger recognises; the reservation is what must never be lost.
   */
  complete(scope: { zone: string; agency: string }, key: string, commandId: string, response: StoredResponse): void {
    const filed = this.hashKey(key);
    this.db.pragma('synchronous = NORMAL');
    try {
      this.s.complete.run(response.status, JSON.stringify(response.body), response.location ?? null, scope.zone, scope.agency, filed, commandId);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** The answer kept for a reserved command, if this instance gave one in the window. */
  answer(scope: { zone: string; agency: string }, key: string, commandId: string): StoredResponse | undefined {
    const filed = this.hashKey(key);
    const row = this.s.answer.get(scope.zone, scope.agency, filed, commandId);
    return row && row.status !== null ? { status: row.status, body: JSON.parse(row.body!) as unknown, location: row.location ?? undefined } : undefined;
  }

  /** A reservation made elsewhere (the shared ledger), remembered here for its answer. */
  remember(scope: { zone: string; agency: string }, key: string, fingerprint: string, commandId: string, now: number): void {
    const filed = this.hashKey(key);
    this.s.reserve.run(scope.zone, scope.agency, filed, fingerprint, commandId, now);
  }

  /** The command was refused and wrote nothing: the key is free again, for any request. */
  release(scope: { zone: string; agency: string }, key: string, commandId: string): void {
    const filed = this.hashKey(key);
    this.s.release.run(scope.zone, scope.agency, filed, commandId);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The same request: method, path and a canonical form of the JSON body (key order does not
 * matter), under a keyed hash: a bare hash of a body could be matched against guesses of the
 * personal data in it.
 */
export function requestFingerprint(method: string, path: string, body: unknown, keyedHash: (text: string) => string): string {
  return keyedHash(`${method} ${path}\n${canonicalJson(body ?? {})}`);
}

/** Deeper than any body of the API (API.md bodies nest a few levels): refused before anything walks it. */
export const MAX_BODY_DEPTH = 32;

export class TooDeep extends Error {}

function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_BODY_DEPTH) throw new TooDeep(`nested more than ${MAX_BODY_DEPTH} levels deep`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
