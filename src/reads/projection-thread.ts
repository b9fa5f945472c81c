import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { FromWorker, ToWorker, WorkerSettings } from './projection-worker';
import { Progress } from '../../projections/progress';
import { parsePosition, type Position } from '../../events/event-store';

/** What the read side needs of the projections, wherever they run. */
export interface Projections {
  start(): void;
  stop(): Promise<void>;
  isReady(): boolean;
  /** Resolves true once the views reflect the ledger up to `target`; false after the timeout. */
  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean>;
}

/**
 * The main thread's side of the projection worker (projection-worker.ts): starts it, wakes it
 * after every local commit (the embedded store's subscriptions otherwise poll), and follows its
 * progress reports to answer `waitFor` for the read barrier. A worker that fails or exits takes
 * readiness down with it.
 */
export class ProjectionThread implements Projections {
  private worker: Worker | undefined;
  private readonly progress = new Progress();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly config: Pick<Config, 'dataDir' | 'eventStoreUrl' | 'masterKeyDir'>,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.worker) return;
    const settings: WorkerSettings = {
      dataDir: this.config.dataDir,
      masterKeyDir: this.config.masterKeyDir,
      eventStoreUrl: this.config.eventStoreUrl,
      viewsFile: join(this.config.dataDir, 'views.db'),
    };
    this.worker = new Worker(join(__dirname, 'projection-worker.js'), { workerData: settings });
    this.worker.on('message', (message: FromWorker) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error.message));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.fail(`the projection worker exited (${code})`);
    });
  }

  /** After a commit in this process: the worker looks at the store now rather than at its next poll. */
  wake(): void {
    this.worker?.postMessage({ type: 'wake' } satisfies ToWorker);
  }

  stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopped ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => void worker.terminate().then(done), 5_000);
      worker.once('exit', done);
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'stopped') void worker.terminate().then(done);
      });
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
    });
    return this.stopped.then(() => this.progress.cancelWaiters());
  }

  isReady(): boolean {
    return this.progress.isReady();
  }

  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean> {
    return this.progress.waitFor(target, timeoutMs);
  }

  private receive(message: FromWorker): void {
    if (message.type === 'error') return this.fail(message.message);
    if (message.type === 'warning') return void this.log.warn({ err: { message: message.message } }, 'projection worker: retrying');
    if (message.type === 'progress') this.progress.advance(message.position ? parsePosition(message.position) : undefined);
  }

  private fail(message: string): void {
    this.progress.fail();
    this.log.error({ err: { message } }, 'projection worker failed');
  }
}
