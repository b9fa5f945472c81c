import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseStream } from '../../events';
import { fiscalCodeCheckCharacter } from '../../events/fiscal-code';
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
 * A key store restored from a backup taken before an erasure holds the keys the erasure
 * destroyed. At start (reconcile), the erasures the ledger records are applied to it again: the
 * old keys go, a key made for a referral after the erasure stays.
 */

const REQUEST = erasureRequest('restore-test');
const OTHER = { fiscalCode: `VRDLGU80A01H501${fiscalCodeCheckCharacter('VRDLGU80A01H501')}`, givenName: 'Luigi', familyName: 'Verdi', birthDate: '1980-01-01' };

describe('erasures applied to a restored key store', () => {
  let dir: string;
  let file: string;
  let masters: FileMasterKeyring;
  let keys: KeyStore;
  let store: SqliteEventStore;
  let seed: Seeder;
  let tick = 0;
  // The ledger's clock is years behind the key store's (created_at is the machine's): the rule must not depend on either.
  const clock = { now: () => new Date(Date.UTC(2025, 5, 2, 10, 0, tick++)) };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-restored-keys-'));
    file = join(dir, 'keys', 'keys.db');
    masters = FileMasterKeyring.open(join(dir, 'keys', 'master'));
    keys = new KeyStore(file, masters);
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    seed = new Seeder(store);
    await seed.protocol();
  });
  afterEach(async () => {
    await store.close();
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stops the service, puts a backup of keys.db in place and starts again: a new key store and a store that decodes with it. */
  async function restart(backup?: string): Promise<void> {
    await store.close();
    keys.close();
    if (backup) {
      for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      copyFileSync(backup, file);
    }
    keys = new KeyStore(file, masters);
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    seed = new Seeder(store);
    await new Erasures(store, keys, clock).reconcile();
  }

  const wrappedKeys = (subject: string): Buffer[] => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare<[string], { wrapped: Buffer }>('SELECT wrapped FROM data_keys WHERE subject = ?')
        .all(subject)
        .map((r) => r.wrapped);
    } finally {
      db.close();
    }
  };
  const onDisk = (wrapped: Buffer) => [file, `${file}-wal`].some((path) => existsSync(path) && readFileSync(path).includes(wrapped));
  const firstEventOf = async (caseId: string) => (await store.readStream(caseStream(ZONE, caseId)))[0]!.data as Record<string, unknown>;

  it('destroys at start the keys a backup older than the erasure brought back, and keeps the key of a referral after it', async () => {
    const { caseId: erasedCase } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    const { caseId: otherCase } = await seed.run(AGENCIES.sds, submitReferral, { person: OTHER, needs: ['housing'] });
    const subject = keys.subjectOf(PERSON.fiscalCode);
    const [oldKey] = wrappedKeys(subject);
    const beforeErasure = join(dir, 'before-erasure.db');
    await keys.backup(beforeErasure);

    await new Erasures(store, keys, clock).erase(PERSON.fiscalCode, REQUEST);
    // Referred again after the erasure: a new key, which no restore may take.
    const { caseId: newCase } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['housing'] });
    const afterReferral = join(dir, 'after-referral.db');
    await keys.backup(afterReferral);
    const [newKey] = wrappedKeys(subject);

    // 1. The backup from before the erasure: the old key is back in the file until the start applies the erasure.
    await restart(beforeErasure);
    expect(keys.keyOfCase(erasedCase)).toBeUndefined();
    expect(keys.hasKey(subject)).toBe(false);
    expect(await firstEventOf(erasedCase)).toMatchObject({ erased: true });
    expect(onDisk(oldKey!)).toBe(false);
    // Another person's key is untouched.
    expect(keys.keyOfCase(otherCase)).toBeDefined();
    expect(await firstEventOf(otherCase)).not.toHaveProperty('erased');

    // 2. The backup from after the new referral: its key stays, the erased case stays erased.
    await restart(afterReferral);
    expect(keys.keyOfCase(newCase)).toBeDefined();
    expect(wrappedKeys(subject)).toEqual([newKey]);
    expect(await firstEventOf(newCase)).not.toHaveProperty('erased');
    expect(await firstEventOf(erasedCase)).toMatchObject({ erased: true });

    // 3. A plain restart destroys nothing.
    await restart();
    expect(keys.keyOfCase(newCase)).toBeDefined();
    expect(keys.keyOfCase(otherCase)).toBeDefined();
  });

  it('applies an erasure made after the start that last marked the key store, when its backup is restored', async () => {
    const { caseId } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    // A start marks how far into the ledger the key store's erasures are applied.
    await restart();
    const backup = join(dir, 'backup.db');
    await keys.backup(backup);
    await new Erasures(store, keys, clock).erase(PERSON.fiscalCode, REQUEST);
    await restart(backup);
    expect(keys.keyOfCase(caseId)).toBeUndefined();
    expect(await firstEventOf(caseId)).toMatchObject({ erased: true });
  });
});
