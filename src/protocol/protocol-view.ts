import { z } from 'zod';
import { AgencyId, AgencyKind, Category, inForce, ZoneId, type ZoneProtocol } from '../../events';

/** The bounds of what a protocol may hold (events/protocol-events.ts), for the readers of the contract. */
const MAX_PARTIES = 200;
const Parties = z
  .array(z.object({ agency: AgencyId, name: z.string().max(200), kind: AgencyKind, minimalEquipe: z.boolean(), receivable: z.array(Category).max(4) }))
  .max(MAX_PARTIES);

/** A widening renewal waiting for approvals, as the parties read it. */
export const ProposalView = z.object({
  proposalId: z.uuid(),
  proposedBy: AgencyId,
  awaiting: z.array(AgencyId).max(MAX_PARTIES),
  approvedBy: z.array(AgencyId).max(MAX_PARTIES),
  title: z.string().max(300),
  validFrom: z.iso.date(),
  validUntil: z.iso.date(),
  consentRequired: z.array(Category).max(4),
  retentionYearsAfterClosure: z.int(),
  parties: Parties,
});

/** The answer to a renewal or an approval that leaves a proposal waiting (202). */
export const ProposalPending = z.object({ proposalId: z.uuid(), awaiting: z.array(AgencyId).min(1).max(MAX_PARTIES) });
export type ProposalPending = z.infer<typeof ProposalPending>;

/** The zone's protocol as its parties read it (API.md "Protocol"): the answer of PUT and GET /v1/protocol. */
export const ProtocolView = z.object({
  zone: ZoneId,
  version: z.int().min(1),
  revision: z.int().min(0),
  inForce: z.boolean(),
  title: z.string().max(300),
  validFrom: z.iso.date(),
  validUntil: z.iso.date(),
  consentRequired: z.array(Category).max(4),
  retentionYearsAfterClosure: z.int(),
  parties: Parties,
  /** The pending proposal, if any: parties see what they are asked to approve. */
  proposal: ProposalView.optional(),
});
export type ProtocolView = z.infer<typeof ProtocolView>;

export function protocolView(zone: string, protocol: ZoneProtocol, now: Date): ProtocolView {
  const pending = protocol.pending;
  const proposal = pending && {
    proposalId: pending.proposalId,
    proposedBy: pending.proposedBy,
    awaiting: [...pending.awaiting],
    approvedBy: [...pending.approved],
    ...pending.terms,
  };
  return { zone, revision: Number(protocol.revision), inForce: inForce(protocol, now), ...protocol.current, ...(proposal ? { proposal } : {}) };
}

/** What a protocol command answers: the protocol now in force (200), or the proposal still waiting (202). */
export type ProtocolAnswer = ProtocolView | ProposalPending;
export const ProtocolAnswer = z.union([ProtocolView, ProposalPending]);

export function protocolAnswer(zone: string, protocol: ZoneProtocol, now: Date, proposalId: string | undefined): ProtocolAnswer {
  const pending = protocol.pending;
  if (proposalId !== undefined && pending?.proposalId === proposalId && pending.awaiting.size > 0) return { proposalId, awaiting: [...pending.awaiting] };
  return protocolView(zone, protocol, now);
}

export const isPending = (answer: ProtocolAnswer): answer is ProposalPending => !('zone' in answer);
