import { PlanRevisionValidated } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openPlanForMember } from './decision';
import { PlanRevisionNumber } from './plan-revision-number';

/** POST /v1/cases/{id}/plan/revisions/{n}/validation: the coordination group validates an agreed revision. */
export const validatePlanRevision = caseCommand({
  name: 'ValidatePlanRevision',
  route: { path: 'cases/:id/plan/revisions/:n/validation', roles: ['coordinator'], summary: 'Validate an agreed plan revision', params: { n: PlanRevisionNumber } },
  body: PlanRevisionValidated.omit({ planRevision: true }),
  input: (body, params) => ({ ...body, planRevision: params.n }),
  decide: (state, input, ctx) => {
    openPlanForMember(state, ctx);
    const revision = state.planRevisions.get(input.planRevision);
    if (!revision) throw new RuleViolation('unknown-plan-revision', String(input.planRevision));
    if (!revision.agreed) throw new RuleViolation('validation-before-agreement', String(input.planRevision));
    if (revision.validated) throw new RuleViolation('plan-revision-already-validated', String(input.planRevision));
    return [{ type: 'PlanRevisionValidated', data: input }];
  },
});
