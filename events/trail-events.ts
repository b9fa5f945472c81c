import { z } from 'zod';
import { AgencyId, Category } from './categories';
import { datum } from './datum';

/**
 * The access trail (ENTITLEMENTS.md "The access trail"): one record per disclosed case, and one
 * per refused attempt, appended to the ledger before the response leaves. A record names who,
 * what, which case and why; it holds no personal data of the person the case is about (the
 * operator's id and address are the operator's, and the DPO's to read).
 */
export const TRAIL_ACTIONS = [
  'case.list',
  'case.read',
  'case.history',
  'case.read-as-of',
  // A command on a case refused with 403 or 404: recorded like a refused read (nothing is disclosed).
  'case.command',
  'subject.erasure',
  // A DPO's per-person report (GET /v1/access-trail/subjects/{fiscalCode}): one record per case
  // of the person it names, none of their content; '*' and not-found when it names none.
  'dpo.subject',
  // Auditors' reads of the zone's ledger (API.md "Auditor"): no case, caseId "*".
  'audit.events',
  'audit.verify',
  'audit.checkpoints',
  'audit.checkpoint',
  'audit.keys',
  'audit.proof',
  'audit.export',
] as const;
export const TRAIL_OUTCOMES = ['disclosed', 'not-found', 'forbidden', 'erased'] as const;

export const AccessRecorded = datum(
  'none',
  z.strictObject({
    action: z.enum(TRAIL_ACTIONS),
    /** The case id asked for or disclosed; for refusals, whatever id was asked for. */
    caseId: z.string().max(100),
    roles: z.array(z.string()).max(10),
    categories: z.array(Category),
    purpose: z.string().max(200),
    /** The authorisations or rules that allowed the disclosure: authored, self-reference, full-member, consent:<id>, referrer-feedback. */
    basis: z.array(z.string().max(100)),
    outcome: z.enum(TRAIL_OUTCOMES),
    /**
     * Agencies whose recorded data was disclosed (the `of-our-data` scope of their DPO), each with
     * the categories and basis of its own data only: a DPO reads what was disclosed of its
     * agency's data, never what others' data said (ENTITLEMENTS.md "The access trail").
     */
    owners: z.array(z.strictObject({ agency: AgencyId, categories: z.array(Category), basis: z.array(z.string().max(100)) })),
    ip: z.string().max(64).optional(),
  }),
);

/** API.md "Erasure": the legal basis and the reason of an erasure are codes, so the event holds no free text about the person. */
export const ERASURE_BASES = ['gdpr-17-1-a', 'gdpr-17-1-b', 'gdpr-17-1-c', 'gdpr-17-1-d', 'gdpr-17-1-e', 'gdpr-17-1-f', 'retention-period'] as const;
export const ERASURE_REASONS = [
  'request-of-the-person',
  'no-longer-necessary',
  'consent-withdrawn',
  'objection',
  'unlawful-processing',
  'legal-obligation',
  'retention-expired',
] as const;

/**
 * A person's data keys were destroyed (API.md "Erasure"): every datum of theirs in every file is
 * unreadable from then on. The event names the person by pseudonym only and lists the cases the
 * keys sealed, in every zone, so that every zone's views show them as erased. It is on the
 * access trail of the erasing agency and of every agency that had recorded data in those cases.
 */
export const PersonErased = datum(
  'none',
  z.strictObject({
    subject: z.string().regex(/^[0-9a-f]{64}$/),
    cases: z.array(z.uuid()).max(10_000),
    legalBasis: z.enum(ERASURE_BASES),
    reason: z.enum(ERASURE_REASONS),
  }),
);

/**
 * An Idempotency-Key reserved for 24 hours, in EventStoreDB mode where several instances share
 * one ledger (src/idempotency/shared-reservations.ts): a retry on any instance runs as the same
 * command. The key itself is not kept: the stream is named by a keyed hash of agency and key,
 * and the request by its keyed fingerprint.
 */
export const IdempotencyKeyReserved = datum(
  'none',
  z.strictObject({
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    commandId: z.uuid(),
  }),
);

/** A reserved key whose command was refused (it wrote nothing): the key is free again. */
export const IdempotencyKeyReleased = datum('none', z.strictObject({ commandId: z.uuid() }));

export const TRAIL_EVENTS = { AccessRecorded, PersonErased, IdempotencyKeyReserved, IdempotencyKeyReleased } as const;
