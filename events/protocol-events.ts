import { z } from 'zod';
import { AgencyId, AgencyKind, Category } from './categories';
import { datum } from './datum';
import { IsoDate, OneLine } from './values';

/**
 * The zone's protocol (protocollo d'intesa): which agencies take part and what each may receive.
 * Institutional content, not personal data.
 */
export const Party = z.strictObject({
  agency: AgencyId,
  // Shown to every party, and read by the admins who approve a proposal: one plain line.
  name: OneLine(200),
  kind: AgencyKind,
  minimalEquipe: z.boolean().default(false),
  /** Narrows or widens what this party may receive; absent means its kind's default. */
  receivable: z.array(Category).max(4).optional(),
});
export type Party = z.infer<typeof Party>;

export const ProtocolTerms = z.strictObject({
  title: OneLine(300),
  validFrom: IsoDate,
  validUntil: IsoDate,
  consentRequired: z.array(Category).max(4).optional(),
  retentionYearsAfterClosure: z.int().min(1).max(100).optional(),
  parties: z.array(Party).min(1).max(200),
});
export type ProtocolTerms = z.infer<typeof ProtocolTerms>;

/**
 * The protocol as signed: every default resolved (consentRequired, retention, each party's
 * receivable categories), so that what a party may see never depends on the code's defaults of
 * the day the ledger is read.
 */
const protocolEvent = z.strictObject({
  version: z.int().min(1),
  // Events as they were written: the one-line rule is the request's (ProtocolTerms), not a reason to refuse a stored protocol.
  title: z.string().trim().min(1).max(300),
  validFrom: IsoDate,
  validUntil: IsoDate,
  consentRequired: z.array(Category).max(4),
  retentionYearsAfterClosure: z.int().min(1).max(100),
  parties: z
    .array(
      z.strictObject({
        agency: AgencyId,
        name: z.string().trim().min(1).max(200),
        kind: AgencyKind,
        minimalEquipe: z.boolean(),
        receivable: z.array(Category).max(4),
      }),
    )
    .min(1),
});
export type ProtocolState = z.infer<typeof protocolEvent>;
export type ResolvedParty = ProtocolState['parties'][number];
export type ProposedTerms = Omit<ProtocolState, 'version'>;

export const ProtocolSigned = datum('none', protocolEvent);
export const ProtocolRenewed = datum('none', protocolEvent);

/**
 * A renewal that widens what some party receives (ENTITLEMENTS.md: a wider `receivable`, a party
 * newly `minimalEquipe`, a smaller `consentRequired`, a new party) is only a proposal until an
 * admin of every party in both the protocol in force and the proposed one has approved it.
 */
export const ProtocolRenewalProposed = datum(
  'none',
  z.strictObject({
    proposalId: z.uuid(),
    terms: protocolEvent.omit({ version: true }),
    /** The parties whose admin must still approve (the proposer's own approval is its proposal). */
    awaiting: z.array(AgencyId).min(1),
  }),
);

/** One required party's approval; the last one is appended with the ProtocolRenewed that puts the proposal in force. */
export const ProtocolProposalApproved = datum('none', z.strictObject({ proposalId: z.uuid() }));

export const PROTOCOL_EVENTS = { ProtocolSigned, ProtocolRenewed, ProtocolRenewalProposed, ProtocolProposalApproved } as const;
