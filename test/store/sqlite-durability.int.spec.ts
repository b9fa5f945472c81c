import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { note } from '../support/events';

/**
 * Durable before the answer (ARCHITECTURE.md property 1) when the store syncs its write-ahead log
 * itself, off the main thread: an append resolves only after a sync of the log that began after
 * its commit, and a failed sync fails the appends it covered and every later one.
 */
describe('the embedded store syncs its write-ahead log before an append resolves', () => {
  let dir: string;
  let store: SqliteEventStore;
  /** The syncs asked of the file system, held until the test lets them finish. */
  let held: Array<{ fd: number; finish: (error: NodeJS.ErrnoException | null) => void }>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-durable-'));
    held = [];
    jest.spyOn(fs, 'fdatasync').mockImplementation((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      held.push({ fd, finish: callback });
    });
    store = new SqliteEventStore(join(dir, 'ledger.db'));
  });

  afterEach(async () => {
    while (held.length) held.shift()!.finish(null);
    jest.restoreAllMocks();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settled = async (promise: Promise<unknown>) => {
    let state = 'pending';
    promise.then(
      () => (state = 'resolved'),
      () => (state = 'rejected'),
    );
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return state;
  };

  it('answers an append only once the sync that began after its commit has finished', async () => {
    const append = store.append('case-z.1', [note('one')], 'no-stream');
    expect(await settled(append)).toBe('pending');
    // Committed (another connection could read it) but not yet answered.
    expect(await store.readStream('case-z.1')).toHaveLength(1);
    expect(held).toHaveLength(1);
    held.shift()!.finish(null);
    expect(await settled(append)).toBe('resolved');
  });

  it('lets one sync cover every commit written before it began, and starts another for those written during it', async () => {
    const first = store.append('case-z.1', [note('one')], 'no-stream');
    await settled(first);
    const second = store.append('case-z.2', [note('two')], 'no-stream');
    const third = store.append('case-z.3', [note('three')], 'no-stream');
    await settled(second);
    // One sync in flight for the first commit; the second and third were committed during it.
    expect(held).toHaveLength(1);
    held.shift()!.finish(null);
    expect(await settled(first)).toBe('resolved');
    expect(await settled(second)).toBe('pending');
    expect(held).toHaveLength(1);
    held.shift()!.finish(null);
    expect([await settled(second), await settled(third)]).toEqual(['resolved', 'resolved']);
  });

  it('fails a refused append at once, without waiting for a sync: it wrote nothing', async () => {
    await Promise.all([store.append('case-z.1', [note('one')], 'no-stream'), settled(Promise.resolve()).then(() => held.shift()!.finish(null))]);
    const refused = store.append('case-z.1', [note('again')], 'no-stream');
    expect(await settled(refused)).toBe('rejected');
    expect(held).toHaveLength(0);
  });

  it('after a failed sync, fails the appends it covered and every later one: nothing since can be trusted to be durable', async () => {
    const covered = store.append('case-z.1', [note('one')], 'no-stream');
    await settled(covered);
    held.shift()!.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(covered).rejects.toMatchObject({ code: 'EIO' });
    await expect(store.append('case-z.2', [note('two')], 'no-stream')).rejects.toMatchObject({ code: 'EIO' });
    // Readiness (its store check pings) says the service takes no more writes.
    await expect(store.ping()).rejects.toMatchObject({ code: 'EIO' });
  });

  it('lets a signer wait until everything committed so far is durable', async () => {
    const append = store.append('case-z.1', [note('one')], 'no-stream');
    const durable = store.durable();
    expect(await settled(durable)).toBe('pending');
    while (held.length) held.shift()!.finish(null);
    await settled(durable);
    while (held.length) held.shift()!.finish(null);
    expect(await settled(durable)).toBe('resolved');
    expect(await settled(append)).toBe('resolved');
  });
});
