import { z } from 'zod';
import { Notes } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/plan/revisions/{n}/validation: the coordination group validates an agreed revision. */
export const ValidatePlanRevisionBody = z.strictObject({ notes: Notes.optional() });
export type ValidatePlanRevisionInput = z.output<typeof ValidatePlanRevisionBody> & { planRevision: number };

export const validatePlanRevision: CaseDecision<ValidatePlanRevisionInput> = (state, input, ctx) => {
  openCaseForMember(state, ctx);
  const revision = state.planRevisions.get(input.planRevision);
  if (!revision) throw new RuleViolation('unknown-plan-revision', String(input.planRevision));
  if (!revision.agreed) throw new RuleViolation('validation-before-agreement', String(input.planRevision));
  if (revision.validated) throw new RuleViolation('plan-revision-already-validated', String(input.planRevision));
  return [{ type: 'PlanRevisionValidated', data: { planRevision: input.planRevision, notes: input.notes ?? [] } }];
};
