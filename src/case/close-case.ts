import { CaseClosed } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { callerKnows, openCaseForMember } from './decision';

/**
 * POST /v1/cases/{id}/closure. Governance counts outcomes: no case closes without one since it
 * was (re)opened, counted among the outcomes the caller is shown (a hidden one must not change
 * the answer).
 */
export const closeCase = caseCommand({
  name: 'CloseCase',
  route: { path: 'cases/:id/closure', roles: ['coordinator'], summary: 'Close the case' },
  body: CaseClosed,
  decide: (state, body, ctx) => {
    openCaseForMember(state, ctx);
    if (callerKnows(state, ctx).outcomesSinceOpening() === 0) throw new RuleViolation('closure-needs-outcome');
    return [{ type: 'CaseClosed', data: body }];
  },
});
