import { CaseReopened } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { caseForMember } from './decision';

/** POST /v1/cases/{id}/reopening: returns a closed case to `in-charge`. */
export const reopenCase = caseCommand({
  name: 'ReopenCase',
  route: { path: 'cases/:id/reopening', roles: ['coordinator'], summary: 'Reopen a closed case' },
  body: CaseReopened,
  decide: (state, body, ctx) => {
    caseForMember(state, ctx);
    if (state.status !== 'closed') throw new RuleViolation('case-not-closed');
    return [{ type: 'CaseReopened', data: body }];
  },
});
