import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { z } from 'zod';
import {
  dateInItaly,
  DEFAULT_CONSENT_REQUIRED,
  DEFAULT_RECEIVABLE,
  partyOf,
  type ProposedTerms,
  type ProtocolEvent,
  ProtocolTerms,
  SYSTEM_AGENCY,
  UNDISCLOSED_AGENCY,
  type ZoneProtocol,
} from '../../events';
import { RuleViolation } from '../errors';
import type { Behaviour, CommandOrigin } from '../ledger/behaviour';
import { CLOCK, type Clock } from '../ledger/clock';
import { CommandIds } from '../ledger/command-ids';
import { ProtocolLedger } from './protocol-ledger';
import { isPending, ProposalPending, type ProtocolAnswer, protocolAnswer, ProtocolView } from './protocol-view';

/** PUT /v1/protocol body (API.md "Protocol"). */
export const SignProtocolBody = ProtocolTerms.superRefine((terms, ctx) => {
  if (terms.validUntil < terms.validFrom) {
    ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must not be before validFrom' });
  }
  const seen = new Set<string>();
  terms.parties.forEach((party, i) => {
    if (seen.has(party.agency)) ctx.addIssue({ code: 'custom', path: ['parties', i, 'agency'], message: 'appears twice' });
    if (party.agency === SYSTEM_AGENCY || party.agency === UNDISCLOSED_AGENCY)
      ctx.addIssue({ code: 'custom', path: ['parties', i, 'agency'], message: `"${party.agency}" is reserved` });
    seen.add(party.agency);
  });
});
export type SignProtocolBody = z.output<typeof SignProtocolBody>;

export const DEFAULT_RETENTION_YEARS = 10;

export interface ProtocolSigner {
  /** The signing agency; the CLI signs as the system itself. */
  readonly agency: string;
}

/** Every default resolved (consentRequired, retention, each party's receivable): what a party receives never depends on the code's defaults of the day the ledger is read. */
export function resolvedTerms(terms: SignProtocolBody): ProposedTerms {
  return {
    title: terms.title,
    validFrom: terms.validFrom,
    validUntil: terms.validUntil,
    consentRequired: [...(terms.consentRequired ?? DEFAULT_CONSENT_REQUIRED)],
    retentionYearsAfterClosure: terms.retentionYearsAfterClosure ?? DEFAULT_RETENTION_YEARS,
    parties: terms.parties.map((p) => ({
      agency: p.agency,
      name: p.name,
      kind: p.kind,
      minimalEquipe: p.minimalEquipe,
      receivable: [...(p.receivable ?? DEFAULT_RECEIVABLE[p.kind])],
    })),
  };
}

/**
 * ENTITLEMENTS.md: a renewal widens what a party receives when it gives a party a category it
 * did not receive, makes a party newly `minimalEquipe`, drops a category from
 * `consentRequired`, or adds a party; and when it gives a party another kind: a reference to an
 * agency carries its kind's membership category (that SerD is on a case is health data), so a
 * new kind can hand every past reference to it to parties that did not receive it.
 */
export function widens(current: ProposedTerms, proposed: ProposedTerms): boolean {
  if (current.consentRequired.some((c) => !proposed.consentRequired.includes(c))) return true;
  return proposed.parties.some((p) => {
    const before = current.parties.find((q) => q.agency === p.agency);
    return !before || p.kind !== before.kind || (p.minimalEquipe && !before.minimalEquipe) || p.receivable.some((c) => !before.receivable.includes(c));
  });
}

/**
 * Changes that widen nothing anyone receives, yet one agency may not make alone (ENTITLEMENTS.md:
 * "a protocol is signed by all its parties"): a shorter retention, after which the daily job
 * destroys, for good, the keys of every other controller's closed cases past it; and a validity
 * that ends sooner, or that is not in force today where the protocol was (every command of the
 * zone refused from then on). `today` is the Italian calendar day the renewal is signed on.
 */
export function restrictsOthers(current: ProposedTerms, proposed: ProposedTerms, today: string): boolean {
  const within = (terms: ProposedTerms) => terms.validFrom <= today && today <= terms.validUntil;
  return proposed.retentionYearsAfterClosure < current.retentionYearsAfterClosure || proposed.validUntil < current.validUntil || (within(current) && !within(proposed));
}

/**
 * decide: signs the first protocol of a zone, or renews it. Whoever signs must be a party of the
 * protocol it signs and, for a renewal, of the one in force. A renewal that widens nothing (nor
 * restricts others: restrictsOthers) is in force at once; otherwise it is a proposal awaiting an
 * admin of every other party in both protocols (ENTITLEMENTS.md: no single agency can widen its
 * own access), and is refused when there is no such party. Pure: `today` is the day it is signed.
 */
export function decideSigning(current: ZoneProtocol | undefined, terms: SignProtocolBody, signer: ProtocolSigner, proposalId: string, today: string): ProtocolEvent[] {
  if (signer.agency !== SYSTEM_AGENCY) {
    const inNew = terms.parties.some((p) => p.agency === signer.agency);
    if (!inNew || (current && !partyOf(current, signer.agency))) throw new RuleViolation('protocol-party-required', signer.agency);
  }
  const proposed = resolvedTerms(terms);
  if (!current) return [{ type: 'ProtocolSigned', data: { version: 1, ...proposed } }];
  const inBoth = proposed.parties.map((p) => p.agency).filter((agency) => partyOf(current, agency));
  const approved = widens(current.current, proposed) || restrictsOthers(current.current, proposed, today);
  const awaiting = approved ? inBoth.filter((agency) => agency !== signer.agency) : [];
  // Such a change with no one else in both protocols would be one agency's alone: say, after a
  // narrowing that dropped every other party, adding them back with more for itself. The
  // service's own proposal (`ledger protocol apply`) still awaits every party in both.
  if (approved && awaiting.length === 0 && signer.agency !== SYSTEM_AGENCY) throw new RuleViolation('protocol-changed-alone', signer.agency);
  if (awaiting.length === 0) return [{ type: 'ProtocolRenewed', data: { version: current.current.version + 1, ...proposed } }];
  return [{ type: 'ProtocolRenewalProposed', data: { proposalId, terms: proposed, awaiting } }];
}

/** The command on the CommandBus. */
export class SignProtocol {
  constructor(
    readonly origin: CommandOrigin,
    readonly terms: SignProtocolBody,
  ) {}
}

@Injectable()
@CommandHandler(SignProtocol)
export class SignProtocolHandler implements ICommandHandler<SignProtocol, ProtocolAnswer> {
  constructor(
    @Inject(ProtocolLedger) private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ origin, terms }: SignProtocol): Promise<ProtocolAnswer> {
    const proposalId = new CommandIds(origin.commandId).entity('proposal');
    const { protocol } = await this.protocols.execute({
      ...origin,
      signer: origin.actor,
      decide: (current) => decideSigning(current, terms, origin.actor, proposalId, dateInItaly(this.clock.now())),
    });
    return protocolAnswer(origin.actor.zone, protocol, this.clock.now(), proposalId);
  }
}

/** PUT /v1/protocol: 200 with the protocol in force, or 202 with the proposal awaiting approvals. */
export const signProtocol: Behaviour<typeof SignProtocolBody, Record<never, never>, ProtocolAnswer> = {
  name: 'SignProtocol',
  route: {
    method: 'PUT',
    path: 'protocol',
    params: {},
    status: 200,
    roles: ['admin'],
    // Before the first protocol, any agency: the decision checks that the signer is a party of the
    // protocol it signs (and, for a renewal, of the one in force; the guard has let only its parties through).
    anyAgency: true,
    summary: "Sign the zone's first protocol, or renew it",
    description:
      'The signing agency must be a party of the protocol it signs (and, for a renewal, of the one in force). A renewal that widens what some party receives answers 202 with the proposal and the parties whose admin must approve it (POST /v1/protocol/proposals/{proposalId}/approval).',
  },
  body: SignProtocolBody,
  answer: ProtocolView,
  otherAnswers: [{ status: 202, schema: ProposalPending, description: 'a renewal that widens what a party receives, awaiting the approval of the parties named' }],
  command: (origin, _params, terms) => new SignProtocol(origin, terms),
  statusOf: (answer) => (isPending(answer) ? 202 : 200),
  headers: (answer): Record<string, string> => (isPending(answer) ? {} : { etag: `"${answer.revision}"` }),
  sends: ['ETag'],
};
