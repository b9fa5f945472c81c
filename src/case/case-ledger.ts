import { type CaseEvent, caseStream } from '../../events';
import type { Actor } from '../actor';
import type { Clock } from '../clock';
import { NotFound, PreconditionFailed, Unavailable } from '../errors';
import { type AppliedCommand, type Folded, FoldedStreams } from '../folded-streams';
import { CommandIds } from '../ids';
import { KeyedLock } from '../keyed-lock';
import type { ProtocolLedger } from '../protocol/protocol-ledger';
import { type EventStore, type Position, WrongExpectedRevisionError } from '../store/event-store';
import { type CaseState, EMPTY_CASE, evolve, existsFor } from './case-state';
import type { CaseDecision } from './decision';

export { caseStream } from '../../events';

export interface CaseCommandRequest<I> {
  readonly actor: Actor;
  /** Absent for a referral: the decision creates the case. */
  readonly caseId?: string;
  readonly decision: CaseDecision<I>;
  readonly input: I;
  readonly commandId: string;
  readonly correlationId: string;
  /** From `If-Match`: the revision the caller last saw; a mismatch is 412, never a retry. */
  readonly ifMatch?: bigint;
}

export interface CaseCommandResult {
  readonly caseId: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly events: ReadonlyArray<{ readonly type: string; readonly data: unknown }>;
}

const MAX_ATTEMPTS = 20;

/**
 * Runs case commands: read and fold the stream, decide, append at the expected revision
 * (ARCHITECTURE.md "write"). Without If-Match a conflict means someone else wrote first: read
 * again and decide again. Every id comes from the command id, so a command retried by its
 * client (Idempotency-Key) or by us is recognised rather than applied twice.
 */
export class CaseLedger {
  private readonly streams: FoldedStreams<CaseState>;
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: EventStore,
    private readonly protocols: ProtocolLedger,
    private readonly clock: Clock,
    /** Told the position of every committed command (read-your-writes). */
    private readonly onCommitted: (position: Position) => void = () => undefined,
  ) {
    this.streams = new FoldedStreams<CaseState>(store, EMPTY_CASE, (state, event) =>
      evolve(state, { type: event.type, data: event.data } as CaseEvent, event.metadata),
    );
  }

  load(zone: string, caseId: string): Promise<Folded<CaseState>> {
    return this.streams.load(caseStream(zone, caseId));
  }

  execute<I>(request: CaseCommandRequest<I>): Promise<CaseCommandResult> {
    const ids = new CommandIds(request.commandId);
    const caseId = request.caseId ?? ids.entity('case');
    const stream = caseStream(request.actor.zone, caseId);
    return this.lock.run(stream, async () => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const { state, revision, applied } = await this.streams.load(stream);
        const done = applied.get(request.commandId);
        if (done) return result(caseId, done);
        const now = this.clock.now();
        const protocol = await this.protocols.current(request.actor.zone);
        if (request.ifMatch !== undefined && request.ifMatch !== revision) {
          // A case that does not exist for the caller answers 404 whatever the If-Match: a 412 would tell it exists.
          throw existsFor(state, protocol, request.actor.agency) ? new PreconditionFailed() : new NotFound('no such case');
        }
        const events = request.decision(state, request.input, { actor: request.actor, now, protocol, ids });
        try {
          const appended = await this.store.append(
            stream,
            events.map((event, i) => ({
              id: ids.event(i),
              type: event.type,
              data: event.data,
              metadata: {
                zone: request.actor.zone,
                agency: request.actor.agency,
                operator: request.actor.operator,
                occurredAt: now.toISOString(),
                commandId: request.commandId,
                correlationId: request.correlationId,
              },
            })),
            revision ?? 'no-stream',
          );
          this.onCommitted(appended.position);
          return result(caseId, { revision: appended.nextExpectedRevision, position: appended.position, events });
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          if (request.ifMatch !== undefined) throw new PreconditionFailed();
          await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
        }
      }
      throw new Unavailable('the case kept changing while the command was decided; try again');
    });
  }
}

function result(caseId: string, applied: AppliedCommand): CaseCommandResult {
  return { caseId, revision: applied.revision, position: applied.position, events: applied.events };
}
