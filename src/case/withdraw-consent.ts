import { z } from 'zod';
import { Notes } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/consents/{consentId}/withdrawal */
export const WithdrawConsentBody = z.strictObject({ notes: Notes.optional() });
export type WithdrawConsentInput = z.output<typeof WithdrawConsentBody> & { consentId: string };

/** A withdrawal hides, from then on, what the authorisation had shown (ENTITLEMENTS.md). */
export const withdrawConsent: CaseDecision<WithdrawConsentInput> = (state, input, ctx) => {
  openCaseForMember(state, ctx);
  const consent = state.consents.get(input.consentId);
  if (!consent) throw new RuleViolation('unknown-consent');
  if (consent.status === 'withdrawn') throw new RuleViolation('consent-already-withdrawn');
  if (consent.status === 'expired') throw new RuleViolation('consent-expired');
  return [{ type: 'ConsentWithdrawn', data: { consentId: input.consentId, notes: input.notes ?? [] } }];
};
