import { ReferralSubmitted } from '../../events';
import { caseCommand } from './case-command';
import { protocolInForceFor } from './decision';

/** The body repeats the event's fields, less the case id the command makes; urgency defaults to ordinary. */
const SubmitReferralBody = ReferralSubmitted.omit({ caseId: true }).extend({ urgency: ReferralSubmitted.shape.urgency.optional() });

/** POST /v1/referrals: the single referral sheet (scheda unica di segnalazione); any party may refer. */
export const submitReferral = caseCommand({
  name: 'SubmitReferral',
  route: { path: 'referrals', roles: ['operator'], summary: 'Refer a person (scheda unica di segnalazione): opens a case' },
  opensCase: true,
  body: SubmitReferralBody,
  /** The case id comes from the command id, so a retried referral is the same case. */
  decide: (_state, body, ctx) => {
    protocolInForceFor(ctx);
    return [
      {
        type: 'ReferralSubmitted',
        data: {
          caseId: ctx.ids.entity('case'),
          person: body.person,
          needs: [...new Set(body.needs)],
          programmes: [...new Set(body.programmes)],
          urgency: body.urgency ?? 'ordinary',
          notes: body.notes,
        },
      },
    ];
  },
});
