import { z } from 'zod';
import { CaseManager, Need, Notes } from '../../events';
import { RuleViolation } from '../errors';
import { partyOf } from '../../events';
import { type CaseDecision, openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/taking-in-charge: the coordination group names the case manager by prevalent need. */
export const TakeInChargeBody = z.strictObject({ caseManager: CaseManager, prevalentNeed: Need, notes: Notes.optional() });
export type TakeInChargeBody = z.output<typeof TakeInChargeBody>;

export const takeInCharge: CaseDecision<TakeInChargeBody> = (state, body, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  requireParties(protocol, [body.caseManager.agency]);
  if (partyOf(protocol, body.caseManager.agency)?.kind === 'coordination') throw new RuleViolation('aggregates-only', body.caseManager.agency);
  if (state.status !== 'referred') throw new RuleViolation('already-in-charge');
  return [{ type: 'CaseTakenInCharge', data: { caseManager: body.caseManager, prevalentNeed: body.prevalentNeed, notes: body.notes ?? [] } }];
};
