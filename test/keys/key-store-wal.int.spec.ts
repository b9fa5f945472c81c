import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { erasureStream } from '../../events';
import { submitReferral } from '../../src/case/submit-referral';
import { KeyStore } from '../../src/keys/key-store';
import { FileMasterKeyring } from '../../src/keys/master-keys';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { Erasures } from '../../src/subjects/erasures';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { Seeder } from '../support/seed';
import { erasureRequest } from '../support/erasure';

/*
 * A destroyed key must leave no copy in keys.db nor in its write-ahead log, also when another
 * connection (the projection worker's, a CLI command's) is reading the key store at that moment:
 * the log's truncation is then busy, and the erasure fails (to be retried) rather than answer
 * with the wrapped key still in keys.db-wal.
 */

const REQUEST = erasureRequest('wal-test');

describe('key store write-ahead log after an erasure', () => {
  let dir: string;
  let file: string;
  let keys: KeyStore;
  let store: SqliteEventStore;
  let seed: Seeder;
  let reader: Database.Database | undefined;
  let tick = 0;
  const clock = { now: () => new Date(Date.UTC(2025, 5, 2, 10, 0, tick++)) };
  const erasures = () => new Erasures(store, keys, clock);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-key-wal-'));
    file = join(dir, 'keys', 'keys.db');
    keys = new KeyStore(file, FileMasterKeyring.open(join(dir, 'keys', 'master')));
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    seed = new Seeder(store);
    await seed.protocol();
  });
  afterEach(async () => {
    reader?.close();
    reader = undefined;
    await store.close();
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The person's wrapped data key as the file holds it. */
  function wrappedKey(): Buffer {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[string], { wrapped: Buffer }>('SELECT wrapped FROM data_keys WHERE subject = ?').get(keys.subjectOf(PERSON.fiscalCode))!.wrapped;
    } finally {
      db.close();
    }
  }

  /** Whether any 16 bytes of the wrapped key are in keys.db or keys.db-wal, read raw. */
  function leaked(wrapped: Buffer): string[] {
    const found: string[] = [];
    for (const path of [file, `${file}-wal`]) {
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      for (let i = 0; i + 16 <= wrapped.length; i += 4) {
        if (bytes.includes(wrapped.subarray(i, i + 16))) {
          found.push(path);
          break;
        }
      }
    }
    return found;
  }

  /** Another connection to keys.db inside a read transaction, as the projection worker's may be. */
  function holdReader(): void {
    reader = new Database(file);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) AS n FROM data_keys').get();
  }
  function releaseReader(): void {
    reader!.exec('COMMIT');
    reader!.close();
    reader = undefined;
  }

  it('leaves no byte of the key after an erasure answered while another connection reads; one that failed succeeds once the reader is gone', async () => {
    await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    const wrapped = wrappedKey();
    expect(leaked(wrapped)).not.toEqual([]);
    holdReader();
    const first = await erasures()
      .erase(PERSON.fiscalCode, REQUEST)
      .then(
        () => 'answered',
        (error: unknown) => error,
      );
    if (first === 'answered') {
      // Answered: the key must already be gone from both files.
      expect(leaked(wrapped)).toEqual([]);
    } else {
      // Failed loudly (a 503, SQLITE_BUSY): nothing recorded yet; the retry completes it.
      expect(first).toMatchObject({ code: 'SQLITE_BUSY' });
      expect(await store.readStream(erasureStream(ZONE, keys.subjectOf(PERSON.fiscalCode)))).toHaveLength(0);
      releaseReader();
      await erasures().erase(PERSON.fiscalCode, REQUEST);
      expect(leaked(wrapped)).toEqual([]);
      expect(await store.readStream(erasureStream(ZONE, keys.subjectOf(PERSON.fiscalCode)))).toHaveLength(1);
    }
  });

  it('completes at start (reconcile) an erasure that failed on a busy log, leaving no byte of the key', async () => {
    await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    const wrapped = wrappedKey();
    holdReader();
    await erasures()
      .erase(PERSON.fiscalCode, REQUEST)
      .catch(() => undefined);
    releaseReader();
    await erasures().reconcile();
    expect(leaked(wrapped)).toEqual([]);
    expect(await store.readStream(erasureStream(ZONE, keys.subjectOf(PERSON.fiscalCode)))).toHaveLength(1);
  });

  it('throws when rewrapping cannot truncate the log (a reader holds it), and leaves no old wrapping once it can', () => {
    const masters = FileMasterKeyring.open(join(dir, 'keys', 'master'));
    keys.keyForNewCase('00000000-0000-4000-8000-000000000001', PERSON.fiscalCode);
    const wrapped = wrappedKey();
    keys.close();
    keys = new KeyStore(file, masters);
    masters.rotate();
    holdReader();
    expect(() => keys.rewrapAll()).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    releaseReader();
    expect(keys.rewrapAll()).toBe(0);
    expect(leaked(wrapped)).toEqual([]);
  });
});
