import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from '../../src/keys/key-store';
import { FileMasterKeyring } from '../../src/keys/master-keys';

/* A key store made before erasures were marked recorded: its erasures are looked at once more, then marked. */
describe('the key store of an earlier version', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-erasures-mark-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gains the recorded mark, with every erasure it held still to look at', () => {
    mkdirSync(join(dir, 'keys'));
    const file = join(dir, 'keys', 'keys.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE erasures (
      subject TEXT PRIMARY KEY, erased_at TEXT NOT NULL, zone TEXT NOT NULL, agency TEXT NOT NULL, operator TEXT NOT NULL, legal_basis TEXT NOT NULL, reason TEXT NOT NULL
    )`);
    old.prepare('INSERT INTO erasures VALUES (?, ?, ?, ?, ?, ?, ?)').run('p1', '2025-06-02T10:00:00.000Z', 'z', 'a', 'o', 'gdpr-17-1-a', 'request-of-the-person');
    old.close();
    const keys = new KeyStore(file, FileMasterKeyring.open(join(dir, 'keys', 'master')));
    try {
      expect(keys.erasures().map((e) => e.subject)).toEqual(['p1']);
      // Another time than the one held marks nothing; the one held marks it.
      keys.markRecorded('p1', '2025-06-02T10:00:01.000Z');
      expect(keys.erasures()).toHaveLength(1);
      keys.markRecorded('p1', '2025-06-02T10:00:00.000Z');
      expect(keys.erasures()).toEqual([]);
    } finally {
      keys.close();
    }
  });
});
