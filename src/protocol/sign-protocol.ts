import { z } from 'zod';
import { DEFAULT_CONSENT_REQUIRED, DEFAULT_RECEIVABLE, type ProtocolEvent, ProtocolTerms, SYSTEM_AGENCY } from '../../events';
import { RuleViolation } from '../errors';
import { partyOf, type ZoneProtocol } from '../../events';

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
 * Signs the first protocol of a zone or renews it. Every default is resolved into the event.
 * Whoever signs must be a party of the protocol it signs and, for a renewal, of the one in force.
 */
export function signProtocol(current: ZoneProtocol | undefined, terms: SignProtocolBody, signer: ProtocolSigner): ProtocolEvent {
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
