import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** The first response to a request sent with an Idempotency-Key, kept 24 hours (API.md "Conventions"). */
export interface StoredResponse {
  readonly fingerprint: string;
  readonly status: number;
  readonly body: unknown;
  readonly location?: string;
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Responses by (zone, agency, key). This is a convenience over the ledger, not its guard: the
 * command id is derived from the key, so even a lost record (the file is not fsynced on every
 * write) cannot make a repeat write twice — the ledger recognises the command and answers
 * what it did. Hence `synchronous=NORMAL`.
 */
export class IdempotencyStore {
  private readonly db: Database.Database;
  private readonly get: Database.Statement<[string, string, string, number], { fingerprint: string; status: number; body: string; location: string | null }>;
  private readonly put: Database.Statement<[string, string, string, string, number, string, string | null, number]>;
  private readonly purge: Database.Statement<[number]>;
  private writes = 0;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      zone TEXT NOT NULL, agency TEXT NOT NULL, key TEXT NOT NULL,
      fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, location TEXT,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (zone, agency, key))`);
    this.get = this.db.prepare('SELECT fingerprint, status, body, location FROM idempotency WHERE zone = ? AND agency = ? AND key = ? AND created_at > ?');
    this.put = this.db.prepare('INSERT OR REPLACE INTO idempotency (zone, agency, key, fingerprint, status, body, location, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.purge = this.db.prepare('DELETE FROM idempotency WHERE created_at <= ?');
  }

  find(scope: { zone: string; agency: string }, key: string, now: number): StoredResponse | undefined {
    const row = this.get.get(scope.zone, scope.agency, key, now - IDEMPOTENCY_WINDOW_MS);
    return row && { fingerprint: row.fingerprint, status: row.status, body: JSON.parse(row.body), location: row.location ?? undefined };
  }

  save(scope: { zone: string; agency: string }, key: string, response: StoredResponse, now: number): void {
    this.put.run(scope.zone, scope.agency, key, response.fingerprint, response.status, JSON.stringify(response.body), response.location ?? null, now);
    if (++this.writes % 1000 === 0) this.purge.run(now - IDEMPOTENCY_WINDOW_MS);
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

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
