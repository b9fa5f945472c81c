import { isEventType } from '../../events';
import type { EventStore, Position, StoredEvent } from '../../events/event-store';

/**
 * What one command appended to a stream, found again by its id when the command is retried:
 * where it ended and how many events it wrote, never their data (a note can be 256 KiB); a
 * retry reads them back from the store (eventsOf).
 */
export interface AppliedCommand {
  readonly revision: bigint;
  readonly position: Position;
  readonly count: number;
}

export interface Folded<S> {
  readonly state: S;
  /** The revision of the stream's last event; undefined when the stream does not exist. */
  readonly revision: bigint | undefined;
  readonly applied: ReadonlyMap<string, AppliedCommand>;
}

export interface FoldedStreamsOptions<S> {
  /** The most the cache may hold, in estimated bytes (64 MiB by default). */
  readonly maxBytes?: number;
  /** An estimate of the bytes a folded state holds, beyond a fixed overhead per stream. */
  readonly weigh?: (state: S) => number;
}

/** Per stream and per remembered command: the Map entries, the objects, the strings of ids. */
const STREAM_OVERHEAD = 512;
const COMMAND_BYTES = 160;

/**
 * Streams folded into state and cached at a known revision (ARCHITECTURE.md "a cached fold at
 * a known revision"). Each load reads only the tail after the cached revision, so the state is
 * never stale, even when another process appended. The cache is an LRU bounded by estimated
 * bytes, not entries: it keeps states (ids and codes) and the revisions of applied commands,
 * never event data, so a case of a thousand large notes weighs what a case of small ones does.
 */
export class FoldedStreams<S> {
  private readonly cache = new Map<string, { folded: Folded<S>; bytes: number }>();
  private bytes = 0;
  /** Moves at every forgetWhere(): a fold read before it (decoded with keys since destroyed) is not kept. */
  private epoch = 0;
  private readonly maxBytes: number;
  private readonly weigh: (state: S) => number;

  constructor(
    private readonly store: EventStore,
    private readonly initial: S,
    private readonly evolve: (state: S, event: Omit<StoredEvent, 'raw'>) => S,
    options: FoldedStreamsOptions<S> = {},
  ) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.weigh = options.weigh ?? (() => 0);
  }

  /** Passed back to appended(): what a load saw of forgetWhere(). */
  get generation(): number {
    return this.epoch;
  }

  /** Estimated bytes held now. */
  get size(): number {
    return this.bytes;
  }

  /**
   * The stream folded. `optimistic`: a cached fold is used as it is, without reading the tail
   * (`fresh` is then false); right for a writer whose append checks the expected revision
   * anyway, who folds in what it appended (appended()), and who loads again, fresh, when the
   * check fails or when it would refuse a command on what it only remembers.
   */
  async load(stream: string, options: { optimistic?: boolean } = {}): Promise<Folded<S> & { fresh: boolean }> {
    const cached = this.cache.get(stream)?.folded;
    if (cached && options.optimistic) return { ...cached, fresh: false };
    const from = cached?.revision === undefined ? 0n : cached.revision + 1n;
    const epoch = this.epoch;
    const tail = await this.store.readStream(stream, { fromRevision: from });
    const folded = this.fold(stream, cached ?? this.empty(), tail);
    // Forgotten while it was read: this command may use it, no later one will.
    if (this.epoch !== epoch) this.forget(stream);
    return { ...folded, fresh: true };
  }

  /** The events a remembered command appended, read back from the store. */
  async eventsOf(stream: string, applied: AppliedCommand): Promise<Array<{ type: string; data: unknown }>> {
    const events = await this.store.readStream(stream, { fromRevision: applied.revision - BigInt(applied.count - 1) });
    return events.slice(0, applied.count).map((e) => ({ type: e.type, data: e.data }));
  }

  /**
   * Folds in events this process just appended after `before`, if the cached fold is at `before`
   * and nothing was forgotten by forgetWhere() since `generation` (read before the load).
   */
  appended(stream: string, before: bigint | undefined, events: ReadonlyArray<Omit<StoredEvent, 'raw'>>, generation = this.epoch): void {
    const cached = this.cache.get(stream)?.folded;
    if (generation !== this.epoch || (before === undefined ? cached !== undefined : cached?.revision !== before)) {
      this.forget(stream);
      return;
    }
    this.fold(stream, cached ?? this.empty(), events);
  }

  /** Drops a cached fold (after a conflict: someone else appended). */
  forget(stream: string): void {
    const entry = this.cache.get(stream);
    if (!entry) return;
    this.bytes -= entry.bytes;
    this.cache.delete(stream);
  }

  /**
   * Drops the cached folds of every stream `which` picks (a person erased: their cases' folds hold
   * what their keys no longer open). A load or append under way meanwhile keeps nothing.
   */
  forgetWhere(which: (stream: string) => boolean): void {
    this.epoch++;
    for (const stream of [...this.cache.keys()]) if (which(stream)) this.forget(stream);
  }

  private empty(): Folded<S> {
    return { state: this.initial, revision: undefined, applied: new Map() };
  }

  private fold(stream: string, from: Folded<S>, events: ReadonlyArray<Omit<StoredEvent, 'raw'>>): Folded<S> {
    let folded = from;
    if (events.length > 0) {
      let state = folded.state;
      // The map is the cached fold's own: a command is remembered once it is in the store, whatever follows.
      const applied = folded.applied as Map<string, AppliedCommand>;
      for (const event of events) {
        // A type this version does not know (a newer instance wrote it during a rolling upgrade)
        // counts for the revision and for its command, and changes nothing this version folds.
        if (isEventType(event.type)) state = this.evolve(state, event);
        const previous = applied.get(event.metadata.commandId);
        applied.set(event.metadata.commandId, { revision: event.revision, position: event.position, count: (previous?.count ?? 0) + 1 });
      }
      folded = { state, revision: events[events.length - 1]!.revision, applied };
    }
    if (folded.revision !== undefined) {
      this.forget(stream);
      const bytes = STREAM_OVERHEAD + stream.length * 2 + folded.applied.size * COMMAND_BYTES + this.weigh(folded.state);
      this.cache.set(stream, { folded, bytes });
      this.bytes += bytes;
      // Least recently used first; the stream just folded stays even if it alone is over the budget.
      for (const [oldest] of this.cache) {
        if (this.bytes <= this.maxBytes || oldest === stream) break;
        this.forget(oldest);
      }
    }
    return folded;
  }
}
