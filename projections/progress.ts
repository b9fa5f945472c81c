import { comparePositions, type Position } from '../events/event-store';

/**
 * How far the views are, and who is waiting for them to get somewhere (the read barrier).
 * Shared by the runner in this thread and by the main thread's handle on the worker.
 */
export class Progress {
  private projected: Position | undefined;
  private ready = false;
  private failed = false;
  private readonly waiters = new Set<{ target: Position | undefined; resolve: (ok: boolean) => void }>();

  get position(): Position | undefined {
    return this.projected;
  }

  isReady(): boolean {
    return this.ready && !this.failed;
  }

  /** Ready, and every view reflects the ledger up to `target` (any position, if none given). */
  reached(target: Position | undefined): boolean {
    return this.isReady() && (!target || (this.projected !== undefined && comparePositions(this.projected, target) >= 0));
  }

  /** The views have caught up to `position` (or, with none, caught up with an empty store). */
  advance(position: Position | undefined): void {
    if (position) this.projected = position;
    this.ready = true;
    for (const waiter of [...this.waiters]) if (this.reached(waiter.target)) waiter.resolve(true);
  }

  fail(): void {
    this.failed = true;
  }

  /** A new runner took over after a failure (the worker was started again). */
  recover(): void {
    this.failed = false;
  }

  /** Resolves true once `reached(target)`, false after the timeout or when cancelled. */
  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean> {
    if (this.reached(target)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        target,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  cancelWaiters(): void {
    for (const waiter of [...this.waiters]) waiter.resolve(false);
  }
}
