import { z } from 'zod';
import { ClosureReason, Notes } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/closure */
export const CloseCaseBody = z.strictObject({ reason: ClosureReason, notes: Notes.optional() });
export type CloseCaseBody = z.output<typeof CloseCaseBody>;

/** Governance counts outcomes: no case closes without one since it was (re)opened. */
export const closeCase: CaseDecision<CloseCaseBody> = (state, body, ctx) => {
  openCaseForMember(state, ctx);
  if (!state.outcomeSinceOpening) throw new RuleViolation('closure-needs-outcome');
  return [{ type: 'CaseClosed', data: { reason: body.reason, notes: body.notes ?? [] } }];
};
