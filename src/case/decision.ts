import { type CaseEvent, type CaseState, existsFor, inForce, isFullMember, partyOf, type ZoneProtocol } from '../../events';
import { type CallerKnowledge, callerKnowledge } from '../../projections/policy';
import type { Actor } from '../access/actor';
import { NotFound, RuleViolation } from '../errors';
import type { CommandIds } from '../ledger/command-ids';

/** Everything a decision may depend on besides the case: passed in, so decisions stay pure. */
export interface DecisionContext {
  readonly actor: Actor;
  readonly now: Date;
  readonly protocol: ZoneProtocol | undefined;
  readonly ids: CommandIds;
}

/** decide: a command's events, or a RuleViolation / NotFound thrown. Imports no framework, no driver. */
export type CaseDecision<I> = (state: CaseState, input: I, ctx: DecisionContext) => CaseEvent[];

/** What the caller may know of the case: decisions refuse on this, never on what it cannot see (ENTITLEMENTS.md). */
export function callerKnows(state: CaseState, ctx: DecisionContext): CallerKnowledge {
  return callerKnowledge(state, ctx.protocol, ctx.actor.agency);
}

/** The protocol must be in force and the caller one of its parties: nothing else happens in a zone. */
export function protocolInForceFor(ctx: DecisionContext): ZoneProtocol {
  if (!inForce(ctx.protocol, ctx.now)) throw new RuleViolation('protocol-not-in-force');
  if (!partyOf(ctx.protocol, ctx.actor.agency)) throw new RuleViolation('not-a-party', ctx.actor.agency);
  return ctx.protocol;
}

export function requireParties(protocol: ZoneProtocol, agencies: Iterable<string>): void {
  for (const agency of agencies) if (!partyOf(protocol, agency)) throw new RuleViolation('not-a-party', agency);
}

/** A case agency may act on: it exists for the caller (else 404, as for no case at all), the protocol is in force, the caller is a full member. */
export function caseForMember(state: CaseState, ctx: DecisionContext): ZoneProtocol {
  return memberOfCase(state, ctx, () => protocolInForceFor(ctx));
}

/** The checks of a full member's command, with the protocol's own (`protocolOf`: in force, or only naming the caller) between the case's and the membership's. */
function memberOfCase(state: CaseState, ctx: DecisionContext, protocolOf: () => ZoneProtocol): ZoneProtocol {
  if (!existsFor(state, ctx.protocol, ctx.actor.agency)) throw new NotFound('no such case');
  if (state.erased) throw new RuleViolation('case-erased');
  const protocol = protocolOf();
  if (!isFullMember(state, protocol, ctx.actor.agency)) throw new RuleViolation('not-a-member', ctx.actor.agency);
  return protocol;
}

/**
 * As openCaseForMember, for a command on the plan: the caller must be shown the plan's revisions
 * (their numbers and status are `common`), else `not-entitled`, whatever the plan holds: a
 * revision's number or status must not answer a caller that may not see them.
 */
export function openPlanForMember(state: CaseState, ctx: DecisionContext): ZoneProtocol {
  const protocol = openCaseForMember(state, ctx);
  if (!callerKnows(state, ctx).planRevisions()) throw new RuleViolation('not-entitled', 'the plan');
  return protocol;
}

/**
 * A restriction a full member may make whatever the case's status and the protocol's validity:
 * a person withdraws an authorisation at any time (GDPR art. 7(3)), and while the views still
 * show what it released (a closed case, a protocol lapsed before its renewal is signed), the
 * withdrawal must be possible, or it would keep showing what the person took back. The caller
 * must still be a party of the zone's protocol and a full member of the case.
 */
export function caseForRestriction(state: CaseState, ctx: DecisionContext): void {
  memberOfCase(state, ctx, () => {
    if (!ctx.protocol || !partyOf(ctx.protocol, ctx.actor.agency)) throw new RuleViolation('not-a-party', ctx.actor.agency);
    return ctx.protocol;
  });
}

/** As caseForMember, and the case is not closed. */
export function openCaseForMember(state: CaseState, ctx: DecisionContext): ZoneProtocol {
  const protocol = caseForMember(state, ctx);
  if (state.status === 'closed') throw new RuleViolation('case-closed');
  return protocol;
}
