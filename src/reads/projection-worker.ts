/**
 * The projection runner in a worker thread of its own (`ledger serve`): the views are computed
 * on the second core while the main thread answers HTTP. The worker opens its own connection
 * to the store and to the views file; it reports how far the views are to the main thread,
 * which serves reads from its own connection to the same file (WAL: readers never block the
 * writer). See projection-thread.ts for the main thread's side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { formatPosition } from '../../events/event-store';
import { openKeyStore, readModelCrypto } from '../keys/open-keys';
import { ledgerReaderOf, openEventStore } from '../store/open-event-store';
import { SqliteEventStore } from '../store/sqlite-event-store';

export interface WorkerSettings {
  readonly dataDir: string;
  readonly masterKeyDir?: string;
  readonly eventStoreUrl?: string;
  readonly viewsFile: string;
  /** One Int32, set by the main thread while a wake message is on its way (ProjectionThread.wake). */
  readonly wakeFlag?: SharedArrayBuffer;
}

export type FromWorker = { type: 'progress'; position?: string } | { type: 'error' | 'warning'; message: string } | { type: 'stopped' };
export type ToWorker = { type: 'wake' } | { type: 'stop' };

/** How long the access-trail records of reads may wait to be applied together (ProjectionRunner trailDelayMs). */
const TRAIL_DELAY_MS = 20;

async function main(port: NonNullable<typeof parentPort>, settings: WorkerSettings): Promise<void> {
  const post = (message: FromWorker) => port.postMessage(message);
  // Its own connection to the key store: it decodes and seals with the same keys, and forgets
  // an erased person's when the erasure event reaches it.
  const keys = openKeyStore(settings);
  // A reader: the service's own connection writes the events and their Merkle log.
  const store = await openEventStore(settings, keys, { merkle: false, wakeFlag: settings.wakeFlag && new Int32Array(settings.wakeFlag) });
  const models = ReadModels.open(settings.viewsFile, readModelCrypto(keys), await store.identity(), ledgerReaderOf(store));
  const runner = new ProjectionRunner(store, models, {
    trailDelayMs: TRAIL_DELAY_MS,
    // A fatal error stops the runner (runner.error is set); others are retried subscriptions.
    onError: (error) => post({ type: runner.error ? 'error' : 'warning', message: error instanceof Error ? error.message : String(error) }),
    onProgress: (position) => post({ type: 'progress', position: position && formatPosition(position) }),
  });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'wake' && store instanceof SqliteEventStore) store.wake();
    if (message.type === 'stop') {
      void (async () => {
        await runner.stop();
        models.close();
        await store.close();
        keys.close();
        post({ type: 'stopped' });
      })();
    }
  });
  runner.start();
  // The main thread's connection leaves checkpoints of the ledger's log to this thread.
  if (store instanceof SqliteEventStore) setInterval(() => store.checkpoint(), 1_000).unref();
}

if (parentPort) {
  const port = parentPort;
  main(port, workerData as WorkerSettings).catch((error: unknown) =>
    port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies FromWorker),
  );
}
