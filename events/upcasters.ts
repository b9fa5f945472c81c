import { z } from 'zod';

/**
 * Events are permanent: an old shape is frozen here, never edited, and an upcaster brings it
 * forward when it is read. Writers always write the current version (catalogue.ts). A frozen
 * shape is written out in full and shares nothing with the live schemas: a later change to a
 * live value (a new need code, a longer name) must not change what v1 was.
 */

/** ReferralSubmitted v1 (frozen): urgency was a boolean flag. */
export const ReferralSubmittedV1 = z.strictObject({
  caseId: z.uuid(),
  person: z.strictObject({
    fiscalCode: z.string().regex(/^[A-Z0-9]{16}$/),
    givenName: z.string().min(1).max(100),
    familyName: z.string().min(1).max(100),
    birthDate: z.iso.date(),
    phone: z.string().optional(),
    email: z.string().optional(),
    address: z.string().optional(),
  }),
  needs: z
    .array(
      z.enum(['employment', 'training', 'income', 'housing', 'family', 'education', 'social-relations', 'addiction', 'mental-health', 'disability', 'physical-health', 'justice']),
    )
    .min(1),
  programmes: z.array(z.enum(['GOL-1', 'GOL-2', 'GOL-3', 'GOL-4', 'GOL-5', 'ADI', 'SFL', 'L68', 'PNRR', 'FSE-PLUS', 'RDC', 'OTHER'])).default([]),
  urgent: z.boolean(),
  notes: z
    .array(z.strictObject({ category: z.enum(['common', 'special', 'health', 'judicial']), text: z.string().min(1).max(10_000) }))
    .max(50)
    .default([]),
});
type ReferralSubmittedV1 = z.output<typeof ReferralSubmittedV1>;

/** v1 → v2: `urgent: boolean` became `urgency: "ordinary" | "urgent"`, room for more levels. */
function referralV1toV2(data: ReferralSubmittedV1): Record<string, unknown> {
  const { urgent, ...rest } = data;
  return { ...rest, urgency: urgent ? 'urgent' : 'ordinary' };
}

/** v1 free text (commitments, purposes, a non-compliance commitment) was a bare string; v2 declares its category. A v1 string was `common`. */
const commonNote = (text: string) => ({ category: 'common', text });

/** ConsentRecorded v1 (frozen, the fields that changed): purposes were strings. */
function consentV1toV2(data: { purposes?: string[] } & Record<string, unknown>): Record<string, unknown> {
  return { ...data, purposes: (data.purposes ?? []).map(commonNote) };
}

/** PlanRevisionDrafted v1 (frozen, the field that changed): commitments were strings. */
function planRevisionV1toV2(data: { commitments: string[] } & Record<string, unknown>): Record<string, unknown> {
  return { ...data, commitments: data.commitments.map(commonNote) };
}

/** NonComplianceReported v1 (frozen, the field that changed): the commitment was a string. */
function nonComplianceV1toV2(data: { commitment?: string } & Record<string, unknown>): Record<string, unknown> {
  const { commitment, ...rest } = data;
  return commitment === undefined ? rest : { ...rest, commitment: commonNote(commitment) };
}

/**
 * AccessRecorded v1 (frozen, the field that changed): owners were agency ids, without what was
 * disclosed of each one's data. v2 gives each owner nothing it can no longer prove: empty
 * categories and basis (the record's own categories and basis stay, for its readers' DPO).
 */
function accessV1toV2(data: { owners: string[] } & Record<string, unknown>): Record<string, unknown> {
  return { ...data, owners: data.owners.map((agency) => ({ agency, categories: [], basis: [] })) };
}

type Upcaster = (data: never) => Record<string, unknown>;

/** UPCASTERS[type][v] turns version v into version v + 1. */
export const UPCASTERS: Readonly<Record<string, Readonly<Record<number, Upcaster>>>> = {
  ReferralSubmitted: { 1: referralV1toV2 },
  ConsentRecorded: { 1: consentV1toV2 },
  PlanRevisionDrafted: { 1: planRevisionV1toV2 },
  NonComplianceReported: { 1: nonComplianceV1toV2 },
  AccessRecorded: { 1: accessV1toV2 },
};
