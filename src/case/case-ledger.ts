import {
  type CaseEvent,
  type CaseState,
  caseStream,
  type Category,
  type ClassificationContext,
  classify,
  currentVersion,
  EMPTY_CASE,
  type EventStore,
  evolve,
  existsFor,
  needCategory,
  parseStream,
  type Position,
  WrongExpectedRevisionError,
  type ZoneProtocol,
} from '../../events';
import type { Actor } from '../access/actor';
import { NotFound, PreconditionFailed, RuleViolation, Unavailable } from '../errors';
import type { Clock } from '../ledger/clock';
import { CommandIds } from '../ledger/command-ids';
import { type AppliedCommand, FoldedStreams } from '../ledger/folded-streams';
import { KeyedLock } from '../ledger/keyed-lock';
import type { ProtocolLedger } from '../protocol/protocol-ledger';
import type { CaseDecision } from './decision';

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
    this.streams = new FoldedStreams<CaseState>(store, EMPTY_CASE, (state, event) => evolve(state, { type: event.type, data: event.data } as CaseEvent, event.metadata), {
      weigh: weighCase,
    });
  }

  execute<I>(request: CaseCommandRequest<I>): Promise<CaseCommandResult> {
    const ids = new CommandIds(request.commandId);
    const caseId = request.caseId ?? ids.entity('case');
    const stream = caseStream(request.actor.zone, caseId);
    return this.lock.run(stream, async () => {
      let fresh = request.ifMatch !== undefined;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const generation = this.streams.generation;
        // The remembered fold is trusted where it is safe: the append checks the revision, and a
        // refusal is only ever given on a state read fresh from the store.
        const folded = await this.streams.load(stream, { optimistic: !fresh });
        const { state, revision, applied } = folded;
        const done = applied.get(request.commandId);
        if (done) return result(caseId, done, (await this.streams.eventsOf(stream, done)) as CaseEvent[]);
        const now = this.clock.now();
        const protocol = await this.protocols.current(request.actor.zone);
        if (request.ifMatch !== undefined && request.ifMatch !== revision) {
          // A case that does not exist for the caller answers 404 whatever the If-Match: a 412 would tell it exists.
          throw existsFor(state, protocol, request.actor.agency) ? new PreconditionFailed() : new NotFound('no such case');
        }
        let events: CaseEvent[];
        try {
          events = request.decision(state, request.input, { actor: request.actor, now, protocol, ids });
        } catch (refusal) {
          if (folded.fresh || !(refusal instanceof RuleViolation || refusal instanceof NotFound)) throw refusal;
          fresh = true;
          continue;
        }
        const metadata = {
          zone: request.actor.zone,
          agency: request.actor.agency,
          operator: request.actor.operator,
          occurredAt: now.toISOString(),
          commandId: request.commandId,
          correlationId: request.correlationId,
        };
        const toAppend = events.map((event, i) => ({ id: ids.event(i), type: event.type, data: event.data, metadata, categories: categoriesOf(event, state, protocol) }));
        try {
          const appended = await this.store.append(stream, toAppend, revision ?? 'no-stream');
          const first = (revision ?? -1n) + 1n;
          this.streams.appended(
            stream,
            revision,
            toAppend.map((e, i) => ({ ...e, stream, revision: first + BigInt(i), position: appended.position, metadata: { ...metadata, schemaVersion: currentVersion(e.type) } })),
            generation,
          );
          this.onCommitted(appended.position);
          return result(caseId, { revision: appended.nextExpectedRevision, position: appended.position, count: events.length }, events);
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          this.streams.forget(stream);
          fresh = true;
          if (request.ifMatch !== undefined) throw new PreconditionFailed();
          await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
        }
      }
      throw new Unavailable('the case kept changing while the command was decided; try again');
    });
  }

  /**
   * Forgets what this process remembers of these cases, in every zone (their person was erased):
   * the erasure is in its own stream, not theirs, so a remembered fold would keep their facts and
   * a refusal decided on them would tell what was erased instead of `case-erased`.
   */
  forgetCases(caseIds: readonly string[]): void {
    const erased = new Set(caseIds);
    this.streams.forgetWhere((stream) => {
      const parsed = parseStream(stream);
      return parsed.kind === 'case' && erased.has(parsed.caseId);
    });
  }
}

function result(caseId: string, applied: AppliedCommand, events: CaseEvent[]): CaseCommandResult {
  return { caseId, revision: applied.revision, position: applied.position, events };
}

/** A case's folded state holds ids and codes: a few hundred bytes per consent, plan revision, member and outcome. */
function weighCase(state: CaseState): number {
  return 256 * (state.consents.size + state.planRevisions.size + state.team.size + state.authors.size + state.outcomesSinceOpening.length);
}

/** The categories of an event's data (kept in clear beside its sealed data, for the auditors' export). */
function categoriesOf(event: CaseEvent, state: CaseState, protocol: ZoneProtocol | undefined): Category[] {
  const ctx: ClassificationContext = {
    kindOf: (agency) => protocol?.kinds.get(agency),
    objectiveCategories: (planRevision, objectiveId) => {
      const dimension = state.planRevisions.get(planRevision)?.objectives.get(objectiveId);
      return dimension && ['common', needCategory(dimension)];
    },
  };
  return [...new Set(classify(event, ctx).flatMap((d) => d.categories))].sort();
}
