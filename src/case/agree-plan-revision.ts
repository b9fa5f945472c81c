import { PlanRevisionAgreed } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openPlanForMember } from './decision';
import { PlanRevisionNumber } from './plan-revision-number';

/** POST /v1/cases/{id}/plan/revisions/{n}/agreement: the person signs the pact. */
export const agreePlanRevision = caseCommand({
  name: 'AgreePlanRevision',
  route: {
    path: 'cases/:id/plan/revisions/:n/agreement',
    roles: ['operator'],
    summary: 'Record that the person agreed to (signed) a plan revision',
    params: { n: PlanRevisionNumber },
  },
  body: PlanRevisionAgreed.omit({ planRevision: true }),
  input: (body, params) => ({ ...body, planRevision: params.n }),
  decide: (state, input, ctx) => {
    openPlanForMember(state, ctx);
    const revision = state.planRevisions.get(input.planRevision);
    if (!revision) throw new RuleViolation('unknown-plan-revision', String(input.planRevision));
    if (revision.agreed) throw new RuleViolation('plan-revision-already-agreed', String(input.planRevision));
    return [{ type: 'PlanRevisionAgreed', data: input }];
  },
});
