import { z } from 'zod';
import { AgencyId, Category } from './categories';
import { datum } from './datum';

/**
 * The access trail (ENTITLEMENTS.md "The access trail"): one record per disclosed case, and one
 * per refused attempt, appended to the ledger before the response leaves. A record names who,
 * what, which case and why; it holds no personal data of the person the case is about (the
 * operator's id and address are the operator's, and the DPO's to read).
 */
export const TRAIL_ACTIONS = ['case.list', 'case.read', 'case.history', 'case.read-as-of'] as const;
export const TRAIL_OUTCOMES = ['disclosed', 'not-found', 'forbidden'] as const;

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

export const TRAIL_EVENTS = { AccessRecorded } as const;
