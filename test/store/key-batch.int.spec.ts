import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fiscalCodeCheckCharacter } from '../../events/fiscal-code';
import { caseStream } from '../../events/streams';
import { submitReferral } from '../../src/case/submit-referral';
import { KeyStore } from '../../src/keys/key-store';
import { FileMasterKeyring } from '../../src/keys/master-keys';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { Seeder } from '../support/seed';

/*
 * The data keys new cases need are made while their referrals are encoded, inside the event
 * store's group commit; they are committed together, once, before the events that are sealed
 * with them (KeyStore.batch through the codec).
 */
describe('the data keys of a group of new cases', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-key-batch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = () => {
    const masters = FileMasterKeyring.open(join(dir, 'master'));
    return { masters, keys: new KeyStore(join(dir, 'keys.db'), masters) };
  };

  it('are on disk once the referrals appended together are accepted: another connection opens every case', async () => {
    const { masters, keys } = open();
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    const seed = new Seeder(store);
    await seed.protocol();
    // Sixteen people referred at once: one group commit, and their sixteen new keys with it.
    const people = Array.from({ length: 16 }, (_, i) => {
      const first15 = `RSSMRA85T10A${String(100 + i)}`;
      return { ...PERSON, fiscalCode: first15 + fiscalCodeCheckCharacter(first15), givenName: `Persona ${i}` };
    });
    const cases = await Promise.all(people.map((person) => seed.run(AGENCIES.sds, submitReferral, { person, needs: ['employment'] })));
    const other = new KeyStore(join(dir, 'keys.db'), masters);
    const reader = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(other) });
    try {
      for (const [i, { caseId }] of cases.entries()) {
        expect(other.keyOfCase(caseId)).toBeDefined();
        const [referral] = await reader.readStream(caseStream(ZONE, caseId));
        expect((referral!.data as { person: { givenName: string } }).person.givenName).toBe(`Persona ${i}`);
      }
    } finally {
      await reader.close();
      await store.close();
      other.close();
      keys.close();
    }
  });

  it('keeps nothing of a batch that fails, on disk or in what the process remembers', () => {
    const { masters, keys } = open();
    const caseId = '0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a61';
    expect(() =>
      keys.batch(() => {
        expect(keys.keyForNewCase(caseId, PERSON.fiscalCode)).toBeDefined();
        throw new Error('the events were refused');
      }),
    ).toThrow('the events were refused');
    expect(keys.keyOfCase(caseId)).toBeUndefined();
    const other = new KeyStore(join(dir, 'keys.db'), masters);
    expect(other.keyOfCase(caseId)).toBeUndefined();
    // A batch that succeeds keeps its keys.
    const kept = keys.batch(() => keys.keyForNewCase(caseId, PERSON.fiscalCode));
    const third = new KeyStore(join(dir, 'keys.db'), masters);
    expect(third.keyOfCase(caseId)).toEqual(kept);
    third.close();
    other.close();
    keys.close();
  });

  it('opens a transaction of the key store only for a batch that makes a key, from the first key made', () => {
    const { keys } = open();
    const db = (keys as unknown as { db: { inTransaction: boolean } }).db;
    const known = keys.batch(() => keys.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a63', PERSON.fiscalCode));
    // A group of appends to known cases: their keys are read, nothing is begun or committed.
    keys.batch(() => {
      expect(keys.keyOfCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a63')).toEqual(known);
      expect(keys.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a63', PERSON.fiscalCode)).toEqual(known);
      expect(db.inTransaction).toBe(false);
    });
    keys.batch(() => {
      keys.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a64', PERSON.fiscalCode);
      expect(db.inTransaction).toBe(true);
    });
    expect(db.inTransaction).toBe(false);
    keys.close();
  });

  it('makes its keys after another process wrote keys in the middle of the group (no stale snapshot to upgrade)', () => {
    const { masters, keys } = open();
    const other = new KeyStore(join(dir, 'keys.db'), masters);
    const fiscalCode = (n: number) => {
      const first15 = `RSSMRA85T10A${String(200 + n)}`;
      return first15 + fiscalCodeCheckCharacter(first15);
    };
    other.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a65', fiscalCode(1));
    const made = keys.batch(() => {
      // A case this process has not seen: its key is read from the file.
      expect(keys.keyOfCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a65')).toBeDefined();
      other.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a66', fiscalCode(2));
      return keys.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a67', fiscalCode(3));
    });
    expect(other.keyOfCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a67')).toEqual(made);
    other.close();
    keys.close();
  });

  it('refuses to batch on a connection left inside a transaction (the batch could not commit)', () => {
    const { keys } = open();
    const db = (keys as unknown as { db: { exec(sql: string): void } }).db;
    db.exec('BEGIN');
    expect(() => keys.batch(() => keys.keyForNewCase('0b5a1f7e-3c1d-4e55-8a1b-9d2c3e4f5a62', PERSON.fiscalCode))).toThrow(/inside a transaction/);
    db.exec('ROLLBACK');
    keys.close();
  });
});
