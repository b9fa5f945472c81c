import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { EventStore, Subscription } from '../../events';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { readModelCrypto } from '../../src/keys/open-keys';
import { ProjectionThread } from '../../src/reads/projection-thread';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { note } from '../support/events';
import { testKeys } from '../support/keys';

/*
 * Issue 13.2: the projection worker is supervised, a subscription error that repeats stops
 * being a warning, and the ledger's write-ahead log does not depend on the worker to stay small.
 */

const until = async (what: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('the projections, supervised', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-supervision-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a worker again after it exits, says why while it is down, and counts it', async () => {
    // A worker that reports progress, then dies as one out of memory would.
    const file = join(dir, 'dying-worker.js');
    writeFileSync(
      file,
      `const { parentPort } = require('node:worker_threads');
      parentPort.postMessage({ type: 'progress', position: '1' });
      parentPort.postMessage({ type: 'warning', message: 'connection reset' });
      setTimeout(() => process.exit(7), 100);`,
    );
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const thread = new ProjectionThread({ dataDir: dir }, log, file);
    thread.start();
    await until(() => thread.isReady());
    await until(() => !thread.isReady());
    expect(thread.reason()).toBe('projection worker down, restarting (the log says why)');
    // Started again after a second: ready again, until it dies again.
    await until(() => thread.isReady(), 3_000);
    await until(() => !thread.isReady());
    expect((await thread.restarts.get()).values[0]!.value).toBeGreaterThanOrEqual(2);
    expect((await thread.subscriptionErrors.get()).values[0]!.value).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.includes('projection worker failed; restarting'))).toBe(true);
    await thread.stop();
  });

  it('gives up after ten failed subscriptions in a row, and says so through readiness', async () => {
    const store = new SqliteEventStore(join(dir, 'ledger.db'));
    let attempts = 0;
    const failing = Object.create(store) as EventStore;
    failing.subscribe = (): Subscription => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error(`connection refused ${++attempts}`)) }),
      close: async () => undefined,
    });
    const errors: unknown[] = [];
    const models = ReadModels.open(join(dir, 'views.db'), readModelCrypto(testKeys()));
    const runner = new ProjectionRunner(failing, models, { retryAfterMs: 1, onError: (e) => errors.push(e) });
    runner.start();
    await until(() => runner.error !== undefined);
    expect(attempts).toBe(10);
    expect(runner.isReady()).toBe(false);
    expect((runner.error as Error).message).toBe('connection refused 10');
    await runner.stop();
    models.close();
    await store.close();
  });

  it('keeps the write-ahead log bounded when the connection meant to checkpoint it does not', async () => {
    const store = new SqliteEventStore(join(dir, 'ledger.db'), { walCheckpoints: 'elsewhere', walLimitBytes: 1024 * 1024 });
    const text = 'x'.repeat(8_000);
    for (let i = 0; i < 1_000; i++) await store.append(`case-z.${i}`, [note(text)], 'no-stream');
    // 8 MB were written; without the guard the log holds all of it.
    expect(statSync(join(dir, 'ledger.db-wal')).size).toBeLessThan(3 * 1024 * 1024);
    await store.close();
  });
});
