import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { erasureStream } from '../../events';
import type { EventStore, StoredEvent } from '../../events/event-store';
import { closeCase } from '../../src/case/close-case';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import type { KeyStore } from '../../src/keys/key-store';
import { FoldedStreams } from '../../src/ledger/folded-streams';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { Erasures } from '../../src/subjects/erasures';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';
import { erasureRequest } from '../support/erasure';

/*
 * Issue 11: erasure of a person referred again after an earlier erasure, and what the service
 * remembers of an erased person's cases.
 */

const REQUEST = erasureRequest('erasure-test');

describe('erasures', () => {
  let dir: string;
  let keys: KeyStore;
  let store: SqliteEventStore;
  let seed: Seeder;
  let tick = 0;
  const clock = { now: () => new Date(Date.UTC(2025, 5, 2, 10, 0, tick++)) };
  const erasures = () => new Erasures(store, keys, clock, undefined, (cases) => seed.cases.forgetCases(cases));
  const recorded = () => store.readStream(erasureStream(ZONE, keys.subjectOf(PERSON.fiscalCode)));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-erasures-'));
    keys = testKeys();
    store = new SqliteEventStore(join(dir, 'ledger.db'), { codec: createCodec(keys) });
    seed = new Seeder(store);
    await seed.protocol();
  });
  afterEach(async () => {
    await store.close();
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('looks at start only at erasures whose event the ledger may not hold yet', async () => {
    await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await erasures().erase(PERSON.fiscalCode, REQUEST);
    // Every start reads no erasure stream for a recorded erasure (a ledger of years of retention has many).
    const read = jest.spyOn(store, 'readStream');
    try {
      expect(await erasures().reconcile()).toBe(0);
      expect(read.mock.calls.filter(([stream]) => stream.startsWith('erasure-'))).toEqual([]);
    } finally {
      read.mockRestore();
    }
  });

  it('records at start a later erasure whose event a crash lost, and none for a person referred again and not erased', async () => {
    const { caseId: first } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await erasures().erase(PERSON.fiscalCode, REQUEST);
    const { caseId: second } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['housing'] });
    // Referred again, with a key: nothing to record.
    expect(await erasures().reconcile()).toBe(0);
    // The keys go, then the process stops before the event is appended.
    const subject = keys.subjectOf(PERSON.fiscalCode);
    keys.destroy(subject, {
      erasedAt: '2025-06-03T09:00:00.000Z',
      zone: ZONE,
      agency: AGENCIES.sds,
      operator: 'admin',
      legalBasis: 'gdpr-17-1-a',
      reason: 'request-of-the-person',
    });
    expect(await erasures().reconcile()).toBe(1);
    expect(await erasures().reconcile()).toBe(0);
    const events = await recorded();
    expect(events.map((e) => [e.metadata.occurredAt, (e.data as { cases: string[] }).cases.sort()])).toEqual([
      [expect.any(String), [first]],
      // A later erasure names only what no earlier one named: the first case's trail gets no second record.
      ['2025-06-03T09:00:00.000Z', [second]],
    ]);
    // A repeat answers the erasure the crash interrupted.
    expect(await erasures().erase(PERSON.fiscalCode, REQUEST)).toEqual({ erasedAt: '2025-06-03T09:00:00.000Z' });
    expect(await recorded()).toHaveLength(2);
  });

  it('records a later erasure once, when two requests for it come at once', async () => {
    await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await erasures().erase(PERSON.fiscalCode, REQUEST);
    await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['housing'] });
    const [a, b] = await Promise.all([erasures().erase(PERSON.fiscalCode, REQUEST), erasures().erase(PERSON.fiscalCode, REQUEST)]);
    expect(a).toEqual(b);
    expect(await recorded()).toHaveLength(2);
    expect(keys.hasKey(keys.subjectOf(PERSON.fiscalCode))).toBe(false);
  });

  it('refuses a command on a case whose fold the ledger remembers from before the erasure with case-erased', async () => {
    const { caseId } = await seed.run(AGENCIES.sds, submitReferral, { person: PERSON, needs: ['employment'] });
    await seed.run(AGENCIES.sds, takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }, caseId);
    await erasures().erase(PERSON.fiscalCode, REQUEST);
    await expect(seed.run(AGENCIES.sds, closeCase, { reason: 'objectives-achieved' }, caseId)).rejects.toMatchObject({ rule: 'case-erased' });
  });
});

describe('folded streams forgotten on an erasure', () => {
  /** A store whose reads wait until released, so that an erasure can come in the middle of one. */
  function pausedStore(events: StoredEvent[]) {
    let release: () => void = () => undefined;
    const store = {
      readStream: () => new Promise<StoredEvent[]>((resolve) => (release = () => resolve(events))),
    } as unknown as EventStore;
    return { store, release: () => release() };
  }
  const event = { stream: 's', revision: 0n, type: 'Unknown', data: {}, metadata: { commandId: 'c' }, position: { commit: 1n, prepare: 1n } } as unknown as StoredEvent;

  it('keeps nothing a load read before forgetWhere(), nor what an append made after it', async () => {
    const { store, release } = pausedStore([event]);
    const streams = new FoldedStreams<number>(store, 0, (n) => n + 1);
    const loading = streams.load('s');
    streams.forgetWhere(() => true);
    release();
    expect((await loading).revision).toBe(0n);
    // Not remembered: an optimistic load reads again.
    const next = streams.load('s', { optimistic: true });
    release();
    expect((await next).fresh).toBe(true);
    // An append decided on a load before forgetWhere() is not folded in either.
    const generation = streams.generation;
    streams.forgetWhere(() => true);
    streams.appended('t', undefined, [{ ...event, stream: 't' }], generation);
    const t = streams.load('t', { optimistic: true });
    release();
    expect((await t).fresh).toBe(true);
  });
});
