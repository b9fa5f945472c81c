import { z } from 'zod';
import { Notes, Outcome } from '../../events';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/outcomes: the outcome sheet (scheda esito); several outcomes at once. */
export const RecordOutcomeBody = z.strictObject({ outcomes: z.array(Outcome).min(1).max(14), notes: Notes.optional() });
export type RecordOutcomeBody = z.output<typeof RecordOutcomeBody>;

export const recordOutcome: CaseDecision<RecordOutcomeBody> = (state, body, ctx) => {
  openCaseForMember(state, ctx);
  return [{ type: 'OutcomeRecorded', data: { outcomes: [...new Set(body.outcomes)], notes: body.notes ?? [] } }];
};
