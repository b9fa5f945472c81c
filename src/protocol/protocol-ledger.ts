import { evolveProtocol, type EventStore, type Position, type ProtocolEvent, protocolStream, WrongExpectedRevisionError, type ZoneProtocol } from '../../events';
import type { Actor } from '../access/actor';
import { PreconditionFailed, Unavailable } from '../errors';
import type { Clock } from '../ledger/clock';
import { CommandIds } from '../ledger/command-ids';
import { FoldedStreams } from '../ledger/folded-streams';
import { KeyedLock } from '../ledger/keyed-lock';

export interface ProtocolCommandRequest {
  readonly signer: Pick<Actor, 'zone' | 'agency' | 'operator'>;
  readonly commandId: string;
  readonly correlationId: string;
  readonly ifMatch?: bigint;
  /** decide: the protocol events this command appends, given the zone's protocol now (pure). */
  readonly decide: (current: ZoneProtocol | undefined) => ProtocolEvent[];
}

export interface ProtocolCommandResult {
  /** The zone's protocol after the command: in force, and any pending proposal. */
  readonly protocol: ZoneProtocol;
  readonly position: Position;
  readonly events: readonly ProtocolEvent[];
}

/** The zones' protocols, folded from their `protocol-<zone>` streams. */
export class ProtocolLedger {
  private readonly streams: FoldedStreams<ZoneProtocol | undefined>;
  private readonly lock = new KeyedLock();
  private readonly readThisTurn = new Map<string, Promise<ZoneProtocol | undefined>>();

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly onCommitted: (position: Position) => void = () => undefined,
  ) {
    this.streams = new FoldedStreams<ZoneProtocol | undefined>(store, undefined, (protocol, event) =>
      evolveProtocol(protocol, { type: event.type, data: event.data } as ProtocolEvent, event.revision, event.metadata.agency),
    );
  }

  /**
   * The zone's protocol as the ledger holds it now. Read fresh (another process may have signed
   * a renewal), but once per turn of the event loop: the access guard and the command of the
   * same request, and the requests that arrived together, share one read. A protocol command of
   * this process forgets the shared read as soon as it has appended.
   */
  current(zone: string): Promise<ZoneProtocol | undefined> {
    let read = this.readThisTurn.get(zone);
    if (!read) {
      read = this.streams.load(protocolStream(zone)).then((folded) => folded.state);
      this.readThisTurn.set(zone, read);
      const fresh = read;
      setImmediate(() => {
        if (this.readThisTurn.get(zone) === fresh) this.readThisTurn.delete(zone);
      });
    }
    return read;
  }

  /**
   * Runs a protocol command: read and fold the zone's protocol stream, decide, append at the
   * expected revision. A retried command (same id) answers what it did the first time.
   */
  async execute(request: ProtocolCommandRequest): Promise<ProtocolCommandResult> {
    const { signer } = request;
    const stream = protocolStream(signer.zone);
    return this.lock.run(stream, async () => {
      for (let attempt = 1; attempt <= 10; attempt++) {
        const { state: current, revision, applied } = await this.streams.load(stream);
        const done = applied.get(request.commandId);
        if (done && current) return { protocol: current, position: done.position, events: (await this.streams.eventsOf(stream, done)) as ProtocolEvent[] };
        if (request.ifMatch !== undefined && request.ifMatch !== (revision ?? -1n)) throw new PreconditionFailed('the protocol has changed since the revision in If-Match');
        const events = request.decide(current);
        const ids = new CommandIds(request.commandId);
        const metadata = {
          zone: signer.zone,
          agency: signer.agency,
          operator: signer.operator,
          occurredAt: this.clock.now().toISOString(),
          commandId: request.commandId,
          correlationId: request.correlationId,
        };
        try {
          const result = await this.store.append(
            stream,
            events.map((event, i) => ({ id: ids.event(i), type: event.type, data: event.data, metadata })),
            revision ?? 'no-stream',
          );
          this.readThisTurn.delete(signer.zone);
          this.onCommitted(result.position);
          const first = result.nextExpectedRevision - BigInt(events.length - 1);
          const protocol = events.reduce<ZoneProtocol | undefined>((p, event, i) => evolveProtocol(p, event, first + BigInt(i), signer.agency), current)!;
          return { protocol, position: result.position, events };
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          if (request.ifMatch !== undefined) throw new PreconditionFailed('the protocol has changed since the revision in If-Match');
        }
      }
      throw new Unavailable('the protocol kept changing; try again');
    });
  }
}
