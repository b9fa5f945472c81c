import type { CaseSealer } from '../../events';

/**
 * The runner's writes of views and summaries, held back inside its transaction while their
 * personal data is sealed in another thread (CaseSealer.sealSoon), and run in order, each taking
 * back its sealed bytes, before the transaction ends: the next cases are computed while the
 * cipher works. Outside hold() a write runs at once, sealed in the calling thread.
 */
export class HeldWrites {
  private held: Array<() => void> | undefined;

  constructor(private readonly sealer: CaseSealer) {}

  /** Runs `work`, then every write it held back, in order; on a throw, they are dropped (the transaction rolls back). */
  hold<T>(work: () => T): T {
    if (this.held) return work();
    this.held = [];
    try {
      const result = work();
      const held = this.held;
      this.held = [];
      for (const write of held) write();
      return result;
    } catch (error) {
      // Nothing of what was handed over is kept: neither the texts nor their keys.
      this.sealer.dropSoon?.();
      throw error;
    } finally {
      this.held = undefined;
    }
  }

  /** A write, now or held back, with the text sealed (under the case's key, for `context`) as its last argument. */
  sealed(caseId: string, context: string, text: string, write: (sealed: Uint8Array) => void): void {
    if (!this.held || !this.sealer.sealSoon) {
      write(this.sealer.seal(caseId, context, text));
      return;
    }
    const take = this.sealer.sealSoon(caseId, context, text);
    this.held.push(() => write(take()));
    this.runOldest();
  }

  /** A write that seals nothing, in its place among the held ones. */
  plain(write: () => void): void {
    if (this.held) this.held.push(write);
    else write();
  }

  /**
   * Runs the oldest held writes once there are many: their texts were sealed meanwhile, and what
   * they hold dies young instead of piling up for the whole transaction (a batch of 500 cases
   * held ~10 MB of texts into the old generation, and the collector's time grew by a tenth).
   */
  private runOldest(): void {
    const held = this.held!;
    if (held.length < HeldWrites.WINDOW) return;
    const oldest = held.splice(0, held.length - HeldWrites.WINDOW / 2);
    for (const write of oldest) write();
  }

  /** Writes held at most (about a dozen cases' rows) before the oldest half is run. */
  static readonly WINDOW = 64;
}
