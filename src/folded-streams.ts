import type { EventStore, Position, StoredEvent } from './store/event-store';

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
    private readonly evolve: (state: S, event: StoredEvent) => S,
    private readonly maxEntries = 10_000,
  ) {}

  async load(stream: string): Promise<Folded<S>> {
    const cached = this.cache.get(stream);
    const from = cached?.revision === undefined ? 0n : cached.revision + 1n;
    const tail = await this.store.readStream(stream, { fromRevision: from });
    let folded: Folded<S> = cached ?? { state: this.initial, revision: undefined, applied: new Map() };
    if (tail.length > 0) {
      let state = folded.state;
      const applied = new Map(folded.applied);
      for (const event of tail) {
        state = this.evolve(state, event);
        const previous = applied.get(event.metadata.commandId);
        applied.set(event.metadata.commandId, {
          revision: event.revision,
          position: event.position,
          events: [...(previous?.events ?? []), { type: event.type, data: event.data }],
        });
      }
      folded = { state, revision: tail[tail.length - 1]!.revision, applied };
    }
    if (folded.revision !== undefined) {
      this.cache.delete(stream);
      this.cache.set(stream, folded);
      if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    }
    return folded;
  }
}
