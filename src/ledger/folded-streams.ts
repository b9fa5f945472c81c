import type { EventStore, Position, StoredEvent } from '../../events/event-store';

/** What one command appended to a stream, found again by its id when the command is retried. */
export interface AppliedCommand {
  readonly revision: bigint;
  readonly position: Position;
  readonly events: ReadonlyArray<{ readonly type: string; readonly data: unknown }>;
}

export interface Folded<S> {
  readonly state: S;
  /** The revision of the stream's last event; undefined when the stream does not exist. */
  readonly revision: bigint | undefined;
  readonly applied: ReadonlyMap<string, AppliedCommand>;
}

/**
 * Streams folded into state and cached at a known revision (ARCHITECTURE.md "a cached fold at
 * a known revision"). Each load reads only the tail after the cached revision, so the state is
 * never stale, even when another process appended; a bounded LRU keeps memory flat.
 */
export class FoldedStreams<S> {
  private readonly cache = new Map<string, Folded<S>>();

  constructor(
    private readonly store: EventStore,
    private readonly initial: S,
    private readonly evolve: (state: S, event: Omit<StoredEvent, 'raw'>) => S,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The stream folded. `optimistic`: a cached fold is used as it is, without reading the tail
   * (`fresh` is then false); right for a writer whose append checks the expected revision
   * anyway, who folds in what it appended (appended()), and who loads again, fresh, when the
   * check fails or when it would refuse a command on what it only remembers.
   */
  async load(stream: string, options: { optimistic?: boolean } = {}): Promise<Folded<S> & { fresh: boolean }> {
    const cached = this.cache.get(stream);
    if (cached && options.optimistic) return { ...cached, fresh: false };
    const from = cached?.revision === undefined ? 0n : cached.revision + 1n;
    const tail = await this.store.readStream(stream, { fromRevision: from });
    const folded = this.fold(stream, cached ?? { state: this.initial, revision: undefined, applied: new Map() }, tail);
    return { ...folded, fresh: true };
  }

  /** Folds in events this process just appended after `before`, if the cached fold is at `before`. */
  appended(stream: string, before: bigint | undefined, events: ReadonlyArray<Omit<StoredEvent, 'raw'>>): void {
    const cached = this.cache.get(stream);
    if (before === undefined ? cached !== undefined : cached?.revision !== before) {
      this.cache.delete(stream);
      return;
    }
    this.fold(stream, cached ?? { state: this.initial, revision: undefined, applied: new Map() }, events);
  }

  /** Drops a cached fold (after a conflict: someone else appended). */
  forget(stream: string): void {
    this.cache.delete(stream);
  }

  private fold(stream: string, from: Folded<S>, events: ReadonlyArray<Omit<StoredEvent, 'raw'>>): Folded<S> {
    let folded = from;
    if (events.length > 0) {
      let state = folded.state;
      const applied = new Map(folded.applied);
      for (const event of events) {
        state = this.evolve(state, event);
        const previous = applied.get(event.metadata.commandId);
        applied.set(event.metadata.commandId, {
          revision: event.revision,
          position: event.position,
          events: [...(previous?.events ?? []), { type: event.type, data: event.data }],
        });
      }
      folded = { state, revision: events[events.length - 1]!.revision, applied };
    }
    if (folded.revision !== undefined) {
      this.cache.delete(stream);
      this.cache.set(stream, folded);
      if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    }
    return folded;
  }
}
