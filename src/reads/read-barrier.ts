import type { Projections } from './projection-thread';
import { Unavailable } from '../errors';
import { comparePositions, type EventStore, type Position } from '../../events/event-store';

/**
 * Read-your-writes (ARCHITECTURE.md property 5): before a read, wait (briefly, bounded) until
 * the projections have passed the last committed write. With the embedded store this process
 * is the only writer of cases, so the last position it committed is enough; with EventStoreDB
 * other instances write too, so the store's head is asked as well.
 */
export class ReadBarrier {
  private latest: Position | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly runner: Projections,
    private readonly askStoreHead: boolean,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Called with the position of every committed command. */
  committed(position: Position): void {
    if (!this.latest || comparePositions(position, this.latest) > 0) this.latest = position;
  }

  /** `everything`: also wait for what reads appended (the access trail), for the DPO's reads of it. */
  async pass(options: { everything?: boolean } = {}): Promise<void> {
    let target = this.latest;
    if (this.askStoreHead || options.everything) {
      const head = await this.store.headPosition();
      if (head && (!target || comparePositions(head, target) > 0)) target = head;
    }
    if (!(await this.runner.waitFor(target, this.timeoutMs))) throw new Unavailable('the views are catching up with the ledger; try again');
  }
}
