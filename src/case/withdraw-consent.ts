import { z } from 'zod';
import { ConsentWithdrawn } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { callerKnows, caseForRestriction } from './decision';

/** POST /v1/cases/{id}/consents/{consentId}/withdrawal. A withdrawal hides, from then on, what the authorisation had shown (ENTITLEMENTS.md), and may be made at any time. */
export const withdrawConsent = caseCommand({
  name: 'WithdrawConsent',
  route: {
    path: 'cases/:id/consents/:consentId/withdrawal',
    roles: ['operator'],
    summary: 'Withdraw an authorisation',
    params: { consentId: z.uuid({ error: 'must be a consent id (UUID)' }) },
  },
  body: ConsentWithdrawn.omit({ consentId: true }),
  input: (body, params) => ({ ...body, consentId: params.consentId }),
  decide: (state, input, ctx) => {
    // At any time: on a closed case, and while the protocol is not in force (decision.ts).
    caseForRestriction(state, ctx);
    const consent = state.consents.get(input.consentId);
    // An authorisation the caller is not shown is answered as if it did not exist.
    if (!consent || !callerKnows(state, ctx).consent(input.consentId)) throw new RuleViolation('unknown-consent');
    if (consent.status === 'withdrawn') throw new RuleViolation('consent-already-withdrawn');
    if (consent.status === 'expired') throw new RuleViolation('consent-expired');
    return [{ type: 'ConsentWithdrawn', data: { consentId: input.consentId, notes: input.notes } }];
  },
});
