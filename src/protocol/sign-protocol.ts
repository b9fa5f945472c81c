import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { z } from 'zod';
import { DEFAULT_CONSENT_REQUIRED, DEFAULT_RECEIVABLE, partyOf, type ProtocolEvent, ProtocolTerms, SYSTEM_AGENCY, type ZoneProtocol } from '../../events';
import { RuleViolation } from '../errors';
import type { Behaviour, CommandOrigin } from '../ledger/behaviour';
import { CLOCK, type Clock } from '../ledger/clock';
import { ProtocolLedger } from './protocol-ledger';
import { ProtocolView, protocolView } from './protocol-view';

/** PUT /v1/protocol body (API.md "Protocol"). */
export const SignProtocolBody = ProtocolTerms.superRefine((terms, ctx) => {
  if (terms.validUntil < terms.validFrom) {
    ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must not be before validFrom' });
  }
  const seen = new Set<string>();
  terms.parties.forEach((party, i) => {
    if (seen.has(party.agency)) ctx.addIssue({ code: 'custom', path: ['parties', i, 'agency'], message: 'appears twice' });
    if (party.agency === SYSTEM_AGENCY) ctx.addIssue({ code: 'custom', path: ['parties', i, 'agency'], message: `"${SYSTEM_AGENCY}" is reserved` });
    seen.add(party.agency);
  });
});
export type SignProtocolBody = z.output<typeof SignProtocolBody>;

export const DEFAULT_RETENTION_YEARS = 10;

export interface ProtocolSigner {
  /** The signing agency; the CLI signs as the system itself. */
  readonly agency: string;
}

/**
 * decide: signs the first protocol of a zone or renews it. Every default is resolved into the
 * event. Whoever signs must be a party of the protocol it signs and, for a renewal, of the one
 * in force. Pure.
 */
export function decideSigning(current: ZoneProtocol | undefined, terms: SignProtocolBody, signer: ProtocolSigner): ProtocolEvent {
  if (signer.agency !== SYSTEM_AGENCY) {
    const inNew = terms.parties.some((p) => p.agency === signer.agency);
    if (!inNew || (current && !partyOf(current, signer.agency))) throw new RuleViolation('protocol-party-required', signer.agency);
  }
  const data = {
    version: current ? current.current.version + 1 : 1,
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
  return current ? { type: 'ProtocolRenewed', data } : { type: 'ProtocolSigned', data };
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
export class SignProtocolHandler implements ICommandHandler<SignProtocol, ProtocolView> {
  constructor(
    @Inject(ProtocolLedger) private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ origin, terms }: SignProtocol): Promise<ProtocolView> {
    const { protocol } = await this.protocols.execute({ ...origin, signer: origin.actor, decide: (current) => decideSigning(current, terms, origin.actor) });
    return protocolView(origin.actor.zone, protocol, this.clock.now());
  }
}

/** PUT /v1/protocol */
export const signProtocol: Behaviour<typeof SignProtocolBody, Record<never, never>, ProtocolView> = {
  name: 'SignProtocol',
  route: {
    method: 'PUT',
    path: 'protocol',
    params: {},
    status: 200,
    roles: ['admin'],
    // The decision checks that the signer is a party of the protocol it signs (and of the one in force).
    anyAgency: true,
    summary: "Sign the zone's first protocol, or renew it",
    description: 'The signing agency must be a party of the protocol it signs (and, for a renewal, of the one in force).',
  },
  body: SignProtocolBody,
  answer: ProtocolView,
  command: (origin, _params, terms) => new SignProtocol(origin, terms),
  headers: (view) => ({ etag: `"${view.revision}"` }),
};
