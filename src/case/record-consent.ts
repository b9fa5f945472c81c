import { z } from 'zod';
import { COLLECTION_METHODS, Grant, IsoInstant, LEGAL_BASES, Notes, SIGNERS } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/consents: the person's authorisation (informativa, consenso). */
export const RecordConsentBody = z
  .strictObject({
    grants: z.array(Grant).min(1).max(50),
    purposes: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
    legalBasis: z.enum(LEGAL_BASES),
    informativaVersion: z.string().trim().min(1).max(100),
    collectionMethod: z.enum(COLLECTION_METHODS).optional(),
    signedBy: z.enum(SIGNERS).optional(),
    collectedAt: IsoInstant,
    validUntil: IsoInstant.optional(),
    evidenceSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256').optional(),
    notes: Notes.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.validUntil && Date.parse(body.validUntil) <= Date.parse(body.collectedAt)) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after collectedAt' });
    }
  });
export type RecordConsentBody = z.output<typeof RecordConsentBody>;

export const recordConsent: CaseDecision<RecordConsentBody> = (state, body, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  requireParties(protocol, body.grants.map((g) => g.agency));
  if (body.validUntil && Date.parse(body.validUntil) <= ctx.now.getTime()) throw new RuleViolation('consent-expired', 'validUntil has passed');
  return [
    {
      type: 'ConsentRecorded',
      data: {
        consentId: ctx.ids.entity('consent'),
        grants: body.grants.map((g) => ({ agency: g.agency, categories: [...new Set(g.categories)] })),
        purposes: body.purposes ?? [],
        legalBasis: body.legalBasis,
        informativaVersion: body.informativaVersion,
        collectionMethod: body.collectionMethod,
        signedBy: body.signedBy,
        // Stored in one form (milliseconds, Z), so that deadlines compare as text.
        collectedAt: new Date(body.collectedAt).toISOString(),
        validUntil: body.validUntil && new Date(body.validUntil).toISOString(),
        evidenceSha256: body.evidenceSha256,
        notes: body.notes ?? [],
      },
    },
  ];
};
