import { z } from 'zod';
import { Notes } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, caseForMember } from './decision';

/** POST /v1/cases/{id}/reopening: returns a closed case to `in-charge`. */
export const ReopenCaseBody = z.strictObject({ notes: Notes.optional() });
export type ReopenCaseBody = z.output<typeof ReopenCaseBody>;

export const reopenCase: CaseDecision<ReopenCaseBody> = (state, body, ctx) => {
  caseForMember(state, ctx);
  if (state.status !== 'closed') throw new RuleViolation('case-not-closed');
  return [{ type: 'CaseReopened', data: { notes: body.notes ?? [] } }];
};
