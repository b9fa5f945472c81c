import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { caseStream } from '../../events';
import { ReadModels } from '../../projections/read-models';
import { LedgerCopy } from '../../projections/read-models/ledger-copy';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import { readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/*
 * Issue 13.3: memory bounded in bytes, not entries. A case of a thousand commands carrying
 * 250 KiB of notes each must leave the heap where it was: the folded-streams cache keeps
 * revisions and ids, the ledger copy's remembered entries have a byte budget.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** 25 notes of 10,000 characters: about 250 KiB of JSON, under the 256 KiB body limit. */
const bigNotes = (i: number) => ({ notes: Array.from({ length: 25 }, (_, k) => ({ category: 'common' as const, text: `${i}/${k} ${'x'.repeat(9_990)}` })) });

describe('memory under large commands', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-memory-'));
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the heap flat over 1,000 commands of 250 KiB notes on one case (the write path)', async () => {
    const keys = testKeys();
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    const seed = new Seeder(store);
    await seed.protocol();
    const { caseId } = await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['employment'] });
    for (let i = 0; i < 20; i++) await seed.run(AGENCIES.sds, recordNotes, bigNotes(i), caseId);
    const before = heapMb();
    for (let i = 20; i < 1_000; i++) await seed.run(AGENCIES.sds, recordNotes, bigNotes(i), caseId);
    const grown = heapMb() - before;
    // 980 × 250 KiB went through: remembering them would be 240 MiB and more.
    expect({ grownMb: Math.round(grown) }).toEqual({ grownMb: expect.any(Number) });
    expect(grown).toBeLessThan(24);
    expect((await store.readStream(caseStream(ZONE, caseId))).length).toBe(1_001);
  }, 120_000);

  it("bounds the ledger copy's remembered entries by bytes (the read path)", () => {
    const models = ReadModels.open(join(dir, 'views.db'), readModelCrypto(testKeys()));
    const copy = models.ledger;
    const raw = { data: Buffer.alloc(256 * 1024, 1), metadata: Buffer.alloc(200, 2) };
    const before = heapMb();
    models.transaction(() => {
      for (let i = 0; i < 1_000; i++) {
        const data = { notes: [{ category: 'common', text: 'y'.repeat(250_000) + i }] };
        copy.addCaseEntry(
          ZONE,
          'c1',
          { position: String(i + 1), revision: i, type: 'NoteRecorded', data: data as never, agency: AGENCIES.sds, operator: 'op', at: '2025-06-02T09:00:00Z' },
          { id: `e${i}`, raw },
        );
      }
    });
    expect(copy.rememberedBytes).toBeLessThanOrEqual(LedgerCopy.RECENT_BYTES);
    expect(heapMb() - before).toBeLessThan(LedgerCopy.RECENT_BYTES / 2 ** 20 + 16);
    models.close();
  });
});
