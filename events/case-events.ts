import { z } from 'zod';
import { AgencyId, Category } from './categories';
import { ClosureReason, Decision, Need, Outcome, Programme } from './codes';
import { datum } from './datum';
import {
  CaseManager,
  COLLECTION_METHODS,
  FreeTextNote,
  Grant,
  Intervention,
  IsoDate,
  IsoInstant,
  LEGAL_BASES,
  Notes,
  Objective,
  OneLine,
  Person,
  ProgressEntry,
  SIGNERS,
  TIERS,
  URGENCIES,
} from './values';

/**
 * The events of a case's life (DOMAIN.md "The path of a case"), current shapes. They are also
 * the single source of the command bodies that repeat their fields (src/case/*.ts), so the
 * limits an API caller meets are written here once. Every field is
 * marked with its datum kind (datum.ts); the author agency and operator travel in the metadata
 * and are a datum of their own (ENTITLEMENTS.md). Old shapes live, frozen, in upcasters.ts.
 */

const id = <S extends z.ZodType>(s: S): S => datum('none', s);
const notes = Notes.default([]);
const CaseId = z.uuid();
const ConsentId = z.uuid();
/** A plan revision's number, status and dates are `common` (ENTITLEMENTS.md): every full member takes part in the PaIS. */
const PlanRevision = z.int().min(1);
const revisionNumber = () => datum('common', PlanRevision);

export const ReferralSubmitted = z.strictObject({
  caseId: id(CaseId),
  person: datum('identity', Person),
  needs: z.array(datum('need', Need)).min(1).max(12),
  programmes: z.array(datum('programme', Programme)).max(12).default([]),
  urgency: datum('common', z.enum(URGENCIES)),
  notes,
});

export const ConsentRecorded = z.strictObject({
  consentId: id(ConsentId),
  grants: z.array(datum('grant', Grant)).min(1).max(50),
  /** Free text with the category its author declares (ENTITLEMENTS.md "Free text has a declared category everywhere"). */
  purposes: z.array(FreeTextNote).max(20).default([]),
  legalBasis: datum('common', z.enum(LEGAL_BASES)),
  informativaVersion: datum('common', OneLine(100)),
  collectionMethod: datum('common', z.enum(COLLECTION_METHODS)).optional(),
  signedBy: datum('common', z.enum(SIGNERS)).optional(),
  collectedAt: datum('common', IsoInstant),
  validUntil: datum('common', IsoInstant).optional(),
  evidenceSha256: datum(
    'common',
    z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256')
      .meta({ maxLength: 64 }),
  ).optional(),
  notes,
});

export const ConsentWithdrawn = z.strictObject({ consentId: id(ConsentId), notes });

/** Appended by the service itself when `validUntil` passes, so that views stay a function of the ledger. */
export const ConsentExpired = z.strictObject({ consentId: id(ConsentId), validUntil: id(IsoInstant) });

export const CaseTakenInCharge = z.strictObject({
  caseManager: datum('agency-ref', CaseManager),
  prevalentNeed: datum('need', Need),
  notes,
});

export const TeamMemberAdded = z.strictObject({
  member: datum('agency-ref', z.strictObject({ agency: AgencyId, tier: z.enum(TIERS) })),
  notes,
});

export const TeamMemberRemoved = z.strictObject({ agency: datum('agency-ref', AgencyId), notes });

export const TeamDecisionRecorded = z.strictObject({
  decision: datum('common', Decision),
  heldOn: datum('common', IsoDate),
  participants: z.array(datum('agency-ref', AgencyId)).min(1).max(50),
  notes,
});

export const PlanRevisionDrafted = z.strictObject({
  planRevision: revisionNumber(),
  objectives: z.array(datum('objective', Objective)).min(1).max(50),
  interventions: z.array(datum('intervention', Intervention)).max(50),
  commitments: z.array(FreeTextNote).max(50),
  notes,
});

export const PlanRevisionAgreed = z.strictObject({ planRevision: revisionNumber(), agreedOn: datum('common', IsoDate), notes });

export const PlanRevisionValidated = z.strictObject({ planRevision: revisionNumber(), notes });

export const VerificationRecorded = z.strictObject({
  planRevision: revisionNumber(),
  progress: z.array(datum('verification-entry', ProgressEntry)).min(1).max(50),
  nextDue: datum('common', IsoDate).optional(),
  notes,
});

export const NonComplianceReported = z.strictObject({
  commitment: FreeTextNote.optional(),
  notes,
});

export const OutcomeRecorded = z.strictObject({ outcomes: z.array(datum('outcome', Outcome)).min(1).max(14), notes });

export const NoteRecorded = z.strictObject({ notes: Notes.min(1) });

export const CaseClosed = z.strictObject({ reason: datum('closure-reason', ClosureReason), notes });

export const CaseReopened = z.strictObject({ notes });

export const CASE_EVENTS = {
  ReferralSubmitted,
  ConsentRecorded,
  ConsentWithdrawn,
  ConsentExpired,
  CaseTakenInCharge,
  TeamMemberAdded,
  TeamMemberRemoved,
  TeamDecisionRecorded,
  PlanRevisionDrafted,
  PlanRevisionAgreed,
  PlanRevisionValidated,
  VerificationRecorded,
  NonComplianceReported,
  OutcomeRecorded,
  NoteRecorded,
  CaseClosed,
  CaseReopened,
} as const;

export { Category };
