import { RuleViolation } from '../errors';
import type { CaseState } from '../../events';

/**
 * The service itself records that an authorisation's `validUntil` has passed (API.md), so views
 * stay a function of the ledger. Not an HTTP command: the expiry scheduler calls it. Expiring
 * what is already withdrawn or expired is refused, so a scheduler running twice writes once.
 */
export function expireConsent(state: CaseState, consentId: string, now: Date) {
  const consent = state.consents.get(consentId);
  if (!state.exists || !consent) throw new RuleViolation('unknown-consent');
  if (consent.status === 'withdrawn') throw new RuleViolation('consent-already-withdrawn');
  if (consent.status === 'expired') throw new RuleViolation('consent-expired');
  if (!consent.validUntil || Date.parse(consent.validUntil) > now.getTime()) throw new RuleViolation('consent-not-yet-expired');
  return [{ type: 'ConsentExpired' as const, data: { consentId, validUntil: consent.validUntil } }];
}
