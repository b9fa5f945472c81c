import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdempotencyStore } from '../../src/idempotency/idempotency-store';

/*
 * Issue 11: a client's Idempotency-Key may hold anything (`referral-<fiscal code>`); the
 * reservations file files it under a keyed hash, and a file written before that is converted at
 * open without losing a reservation.
 */
describe('the Idempotency-Key reservations file', () => {
  const hash = (key: string) => createHmac('sha256', 'secret').update(key).digest('hex');
  const scope = { zone: 'valdinievole', agency: 'sds-valdinievole' };
  const KEY = 'referral-RSSMRA85T10A562S';
  const now = Date.parse('2025-06-02T09:00:00Z');
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-idempotency-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const bytesOfFolder = () => Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));

  it('keeps no key in clear, and still finds a repeat', () => {
    const store = new IdempotencyStore(join(dir, 'idempotency.db'), hash);
    const first = store.reserve(scope, KEY, 'fp', now);
    store.complete(scope, KEY, (first as { commandId: string }).commandId, { status: 201, body: { caseId: 'c' } });
    expect(store.reserve(scope, KEY, 'fp', now + 1_000)).toEqual({ commandId: (first as { commandId: string }).commandId, response: { status: 201, body: { caseId: 'c' } } });
    expect(store.reserve(scope, KEY, 'another', now + 2_000)).toBe('reused');
    expect(bytesOfFolder().includes(Buffer.from('RSSMRA85T10A562S'))).toBe(false);
    store.close();
  });

  it('files the keys of a file written in clear under their hash at open, reservations kept', () => {
    const file = join(dir, 'idempotency.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE idempotency (zone TEXT NOT NULL, agency TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, command_id TEXT NOT NULL,
      created_at INTEGER NOT NULL, status INTEGER, body TEXT, location TEXT, PRIMARY KEY (zone, agency, key))`);
    old.prepare('INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(scope.zone, scope.agency, KEY, 'fp', 'command-1', now, 201, '{"caseId":"c"}', null);
    old.close();
    expect(bytesOfFolder().includes(Buffer.from('RSSMRA85T10A562S'))).toBe(true);
    const store = new IdempotencyStore(file, hash);
    expect(store.reserve(scope, KEY, 'fp', now + 1_000)).toEqual({ commandId: 'command-1', response: { status: 201, body: { caseId: 'c' } } });
    store.close();
    // Opened again: converted once, not hashed twice.
    const again = new IdempotencyStore(file, hash);
    expect(again.reserve(scope, KEY, 'fp', now + 2_000)).toEqual({ commandId: 'command-1', response: { status: 201, body: { caseId: 'c' } } });
    again.close();
    const pages = readFileSync(file);
    expect(pages.includes(Buffer.from('RSSMRA85T10A562S'))).toBe(false);
  });
});
