import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Counter } from 'prom-client';
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
  /** Why they are not ready, for /health/ready (no personal data). */
  reason?(): string | undefined;
  /** Resolves true once the views reflect the ledger up to `target`; false after the timeout. */
  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean>;
}

/**
 * The main thread's side of the projection worker (projection-worker.ts): starts it, wakes it
 * after every local commit (the embedded store's subscriptions otherwise poll), and follows its
 * progress reports to answer `waitFor` for the read barrier. It supervises the worker: one that
 * fails or exits (out of memory, an uncaught error, a row it cannot decode) takes readiness down,
 * is logged and counted (`ledger_projection_worker_restarts_total`), and is started again after
 * a backoff (1 s doubling to 1 min, back to 1 s once a worker has kept going for a minute). The
 * new worker resumes from the views' checkpoint.
 */
export class ProjectionThread implements Projections {
  private worker: Worker | undefined;
  /** Set while a wake message is on its way to the worker (see wake()). */
  private wakeFlag: Int32Array | undefined;
  private readonly progress = new Progress();
  private stopped: Promise<void> | undefined;
  private down: string | undefined;
  private backoffMs = 1_000;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Registered by the service in its metrics registry. */
  readonly restarts = new Counter({ name: 'ledger_projection_worker_restarts_total', help: 'Projection worker restarts after a failure or an exit', registers: [] });
  /** Every error the projections' subscription met, retried or not. */
  readonly subscriptionErrors = new Counter({ name: 'ledger_projection_subscription_errors_total', help: 'Errors of the projections subscription to the ledger', registers: [] });

  constructor(
    private readonly config: Pick<Config, 'dataDir' | 'eventStoreUrl' | 'masterKeyDir'>,
    private readonly log: Logger,
    private readonly workerFile = join(__dirname, 'projection-worker.js'),
  ) {}

  start(): void {
    if (this.worker || this.stopped) return;
    const wakeFlag = new SharedArrayBuffer(4);
    const settings: WorkerSettings = {
      dataDir: this.config.dataDir,
      masterKeyDir: this.config.masterKeyDir,
      eventStoreUrl: this.config.eventStoreUrl,
      viewsFile: join(this.config.dataDir, 'views.db'),
      wakeFlag,
    };
    this.wakeFlag = new Int32Array(wakeFlag);
    const worker = new Worker(this.workerFile, { workerData: settings });
    this.worker = worker;
    this.startedAt = Date.now();
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.failed(worker, error.message));
    worker.on('exit', (code) => this.failed(worker, `the projection worker exited (${code})`));
  }

  /**
   * After a commit in this process: the worker looks at the store now rather than at its next
   * poll. Not a message per commit (a message to another thread cost a command 4% of its CPU):
   * the flag, shared with the worker's store, is set here; the worker clears it before it sleeps
   * and reads again if it was set. A message goes only when the flag was clear, when the worker
   * may be asleep.
   */
  wake(): void {
    if (!this.worker || !this.wakeFlag) return;
    if (Atomics.exchange(this.wakeFlag, 0, 1) === 0) this.worker.postMessage({ type: 'wake' } satisfies ToWorker);
  }

  stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) {
      this.stopped ??= Promise.resolve();
      return this.stopped.then(() => this.progress.cancelWaiters());
    }
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
    return this.down === undefined && this.progress.isReady();
  }

  reason(): string | undefined {
    return this.down ?? (this.progress.isReady() ? undefined : 'catching up with the ledger');
  }

  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean> {
    return this.progress.waitFor(target, timeoutMs);
  }

  private receive(message: FromWorker): void {
    if (message.type === 'error' || message.type === 'warning') this.subscriptionErrors.inc();
    if (message.type === 'error') {
      // The runner stopped on an error it cannot retry: this worker is done; a new one may fare better.
      this.log.error({ err: { message: message.message } }, 'projection worker failed');
      void this.worker?.terminate();
      return;
    }
    if (message.type === 'warning') return void this.log.warn({ err: { message: message.message } }, 'projection worker: retrying');
    if (message.type === 'progress') {
      if (this.down !== undefined) this.log.info('projection worker is back');
      this.down = undefined;
      this.progress.recover();
      if (Date.now() - this.startedAt > 60_000) this.backoffMs = 1_000;
      this.progress.advance(message.position ? parsePosition(message.position) : undefined);
    }
  }

  /** A worker failed or exited: readiness says why, and a new one starts after the backoff. */
  private failed(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.stopped) return;
    // /health/ready answers anyone: the reason names no error (a message may name a file or a
    // value); the log line, for the operator, has it.
    this.down = 'projection worker down, restarting (the log says why)';
    this.progress.fail();
    this.restarts.inc();
    this.log.error({ err: { message }, retryInMs: this.backoffMs }, 'projection worker failed; restarting');
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 60_000);
    this.restartTimer = setTimeout(() => this.start(), wait);
    this.restartTimer.unref();
  }
}
