import { z } from 'zod';
import { Need, Notes, Person, Programme, URGENCIES } from '../../events';
import type { CaseState } from '../../events';
import { type CaseDecision, protocolInForceFor } from './decision';

/** POST /v1/referrals: the single referral sheet (scheda unica di segnalazione). */
export const SubmitReferralBody = z.strictObject({
  person: Person,
  needs: z.array(Need).min(1).max(12),
  programmes: z.array(Programme).max(12).optional(),
  urgency: z.enum(URGENCIES).optional(),
  notes: Notes.optional(),
});
export type SubmitReferralBody = z.output<typeof SubmitReferralBody>;

/** Any party may refer; the case id comes from the command id, so a retried referral is the same case. */
export const submitReferral: CaseDecision<SubmitReferralBody> = (_state: CaseState, body, ctx) => {
  protocolInForceFor(ctx);
  return [
    {
      type: 'ReferralSubmitted',
      data: {
        caseId: ctx.ids.entity('case'),
        person: body.person,
        needs: [...new Set(body.needs)],
        programmes: [...new Set(body.programmes ?? [])],
        urgency: body.urgency ?? 'ordinary',
        notes: body.notes ?? [],
      },
    },
  ];
};
