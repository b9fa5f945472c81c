import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fiscalCodeCheckCharacter } from '../../events/fiscal-code';
import { ProjectionRunner } from '../../projections/projection-runner';
import { HeldWrites, ReadModels } from '../../projections/read-models';
import { recordNotes } from '../../src/case/record-notes';
import { submitReferral } from '../../src/case/submit-referral';
import type { KeyStore } from '../../src/keys/key-store';
import { openBytes } from '../../src/store/aead';
import { caseSealer, createCodec } from '../../src/store/codec';
import { CipherThread } from '../../src/store/cipher-thread';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';
import { dumpViews } from '../support/views-dump';

/*
 * A catch-up's pages have their sealed data opened in a worker thread (src/store/cipher-thread.ts)
 * while the previous page is folded, and the views it computes sealed there. Whatever thread opens it, an event must decode to the same
 * thing, fail the same way, and be erased the same way. The worker is the compiled one (as the
 * service runs it): where it is not built, these cases are skipped and say so.
 */
const BUILT_WORKER = join(__dirname, '../../dist/src/store/cipher-worker.js');
const built = existsSync(BUILT_WORKER);
if (!built) console.warn(`parallel open: ${BUILT_WORKER} is not built (npm run build): opening in the worker thread is not tested here`);
const withWorker = built ? describe : describe.skip;

const OTHER = { fiscalCode: `VRDLGU80A01H501${fiscalCodeCheckCharacter('VRDLGU80A01H501')}`, givenName: 'Luigi', familyName: 'Verdi', birthDate: '1980-01-01' };

withWorker('sealed data opened in a worker thread', () => {
  let dir: string;
  let keys: KeyStore;
  let store: SqliteEventStore;
  let opener: CipherThread;
  const rows = () => store.records(0, 10_000);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-open-'));
    keys = testKeys();
    opener = new CipherThread(BUILT_WORKER);
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys), pageSize: 100 });
    const seed = new Seeder(store);
    await seed.protocol();
    for (let i = 0; i < 60; i++) {
      const { caseId } = await seed.run(AGENCIES.serd, submitReferral, {
        person: i % 2 ? PERSON : OTHER,
        needs: ['addiction'],
        notes: [{ category: 'health', text: `in treatment ${i}` }],
      });
      await seed.run(AGENCIES.sds, recordNotes, { notes: [{ category: 'health', text: `therapy ${i} goes on` }] }, caseId);
    }
  });

  afterEach(async () => {
    await store.close();
    await opener.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes a page to exactly what decode() gives event by event, the sealed data opened in the worker', async () => {
    const codec = createCodec(keys, opener);
    const open = jest.spyOn(opener, 'open');
    const page = rows();
    const one = page.map((r) => codec.decode(r.stream, r.id, r.type, r.data, r.metadata));
    expect(await codec.decodeMany!(page)).toEqual(one);
    expect(open).toHaveBeenCalledTimes(1);
    const opened = await open.mock.results[0]!.value;
    expect(opened).toHaveLength(120);
    expect(opened.every((p: Buffer | undefined) => p !== undefined)).toBe(true);
    expect(one.some((e) => JSON.stringify(e.data).includes('therapy 7 goes on'))).toBe(true);
  });

  it('fails on an altered byte as decode() fails, and gives an erased person back erased', async () => {
    const codec = createCodec(keys, opener);
    const page = rows();
    const altered = page.map((r) => ({ ...r, data: Buffer.from(r.data) }));
    const target = altered.findLast((r) => r.data[0] === 0)!;
    target.data[target.data.length - 20]! ^= 0x01;
    const inThread = (() => {
      try {
        altered.forEach((r) => codec.decode(r.stream, r.id, r.type, r.data, r.metadata));
      } catch (error) {
        return error as Error;
      }
    })();
    expect(inThread?.message).toMatch(/authenticate/);
    await expect(codec.decodeMany!(altered)).rejects.toThrow(inThread!.message);

    keys.destroy(keys.subjectOf(OTHER.fiscalCode), {
      erasedAt: '2025-07-01T00:00:00Z',
      zone: ZONE,
      agency: AGENCIES.sds,
      operator: 'admin',
      legalBasis: 'gdpr-17',
      reason: 'asked',
    });
    const decoded = await codec.decodeMany!(page);
    expect(decoded).toEqual(page.map((r) => codec.decode(r.stream, r.id, r.type, r.data, r.metadata)));
    expect(decoded.filter((e) => e.erased)).toHaveLength(60);
    expect(JSON.stringify(decoded)).not.toContain(OTHER.familyName);
    expect(JSON.stringify(decoded)).toContain(PERSON.familyName);
  });

  it('seals a text handed over as seal() does: under the key, with the associated data, after the prefix', () => {
    const key = Buffer.alloc(32, 7);
    const prefix = Buffer.from([2, 0x6b, 0x31]);
    const takes = Array.from({ length: 40 }, (_, i) => opener.sealSoon({ kid: 'k1', key, text: `text ${i} è`, aad: `case\u0000row${i}`, prefix }));
    const sealed = takes.map((take) => take());
    sealed.forEach((bytes, i) => {
      expect(bytes.subarray(0, 3)).toEqual(prefix);
      expect(openBytes(key, bytes.subarray(3), `case\u0000row${i}`).toString('utf8')).toBe(`text ${i} è`);
      expect(() => openBytes(key, bytes.subarray(3), `case\u0000row${i + 1}`)).toThrow();
    });
    // A fresh IV each time: the same text never seals to the same bytes.
    expect(opener.sealSoon({ kid: 'k1', key, text: 'text 0 è', aad: 'case\u0000row0', prefix })()).not.toEqual(sealed[0]);
    // Sealed there, not by the fallback in this thread; nothing kept once taken back.
    expect(opener.counts).toEqual({ sealedThere: 41, sealedHere: 0 });
    expect(opener.pending()).toBe(0);
  });

  it('forgets the texts and keys of a transaction that rolled back', () => {
    const sealer = caseSealer(keys, opener);
    const writes = new HeldWrites(sealer);
    const caseId = keys.casesOfPerson(PERSON.fiscalCode)[0]!;
    expect(() =>
      writes.hold(() => {
        for (let i = 0; i < 40; i++) writes.sealed(caseId, 'row', `a view ${i}`, () => undefined);
        throw new Error('a view could not be computed');
      }),
    ).toThrow('a view could not be computed');
    expect(opener.pending()).toBe(0);
    // The thread goes on: a later transaction seals and writes as before.
    const written: Uint8Array[] = [];
    writes.hold(() => {
      for (let i = 0; i < 40; i++) writes.sealed(caseId, 'row', `a view ${i}`, (bytes) => written.push(bytes));
    });
    expect(written.map((bytes) => sealer.open(caseId, 'row', bytes))).toEqual(Array.from({ length: 40 }, (_, i) => `a view ${i}`));
    expect(opener.counts.sealedHere).toBe(0);
    expect(opener.pending()).toBe(0);
  });

  it('gives up a worker that dies while a caller waits, within its wait, and seals in the calling thread', () => {
    const dies = join(dir, 'dies-on-seal.js');
    writeFileSync(dies, "require('node:worker_threads').workerData.port.on('message', () => process.exit(3));\n");
    const dying = new CipherThread(dies, 300);
    const key = Buffer.alloc(32, 5);
    const takes = Array.from({ length: 40 }, (_, i) => dying.sealSoon({ kid: 'k', key, text: `text ${i}`, aad: 'a', prefix: Buffer.alloc(0) }));
    const started = Date.now();
    const sealed = takes.map((take) => take());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sealed.map((bytes) => openBytes(key, bytes, 'a').toString('utf8'))).toEqual(Array.from({ length: 40 }, (_, i) => `text ${i}`));
    expect(dying.counts).toEqual({ sealedThere: 0, sealedHere: 40 });
    expect(dying.available()).toBe(false);
  });

  it('computes the same views in a catch-up that opens and seals in the worker as in one that does both in its own thread', async () => {
    const views = async (name: string, codecOpener: CipherThread) => {
      const reader = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys, codecOpener), pageSize: 100 });
      const models = ReadModels.open(join(dir, `${name}.db`), { codec: createCodec(keys, codecOpener), sealer: caseSealer(keys, codecOpener) });
      await new ProjectionRunner(reader, models).runUntilCaughtUp();
      const dump = dumpViews(models);
      models.close();
      await reader.close();
      return dump;
    };
    const open = jest.spyOn(opener, 'open');
    const seal = jest.spyOn(opener, 'sealSoon');
    const inThread = await views('in-thread', new CipherThread(join(dir, 'no-worker.js')));
    expect(open).not.toHaveBeenCalled();
    const inWorker = await views('in-worker', opener);
    // A page of 100 events, nearly all sealed, went to the worker; the last, short one was opened in thread.
    expect(open).toHaveBeenCalledTimes(1);
    // 60 cases computed in one transaction: each case's rows and codes were sealed in the worker.
    expect(seal.mock.calls.length).toBeGreaterThanOrEqual(120);
    expect(opener.counts.sealedThere).toBe(seal.mock.calls.length);
    expect(opener.counts.sealedHere).toBe(0);
    expect(inWorker).toEqual(inThread);
    expect(JSON.stringify(inWorker)).toContain('therapy 59 goes on');
  });

  it('gives up a worker that fails, and opens in its own thread', async () => {
    const broken = join(dir, 'broken-worker.js');
    writeFileSync(broken, "throw new Error('this worker does not start');\n");
    const failing = new CipherThread(broken);
    const codec = createCodec(keys, failing);
    const page = rows();
    expect(failing.available()).toBe(true);
    expect(await codec.decodeMany!(page)).toEqual(page.map((r) => codec.decode(r.stream, r.id, r.type, r.data, r.metadata)));
    expect(failing.available()).toBe(false);
    await failing.close();

    // Texts handed to a worker that then fails are sealed in the calling thread.
    const dying = new CipherThread(BUILT_WORKER);
    const key = Buffer.alloc(32, 9);
    const take = dying.sealSoon({ kid: 'k', key, text: 'still sealed', aad: 'a', prefix: Buffer.alloc(0) });
    for (let i = 0; i < 20; i++) dying.sealSoon({ kid: 'k', key, text: `more ${i}`, aad: 'a', prefix: Buffer.alloc(0) });
    await dying.close();
    expect(openBytes(key, take(), 'a').toString('utf8')).toBe('still sealed');
    expect(dying.counts.sealedHere).toBe(1);
  });
});
