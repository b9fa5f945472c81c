import { CaseTakenInCharge, partyOf } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/taking-in-charge: the coordination group names the case manager by prevalent need. */
export const takeInCharge = caseCommand({
  name: 'TakeInCharge',
  route: { path: 'cases/:id/taking-in-charge', roles: ['coordinator'], summary: 'Take the case in charge and name the case manager' },
  body: CaseTakenInCharge,
  decide: (state, body, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    requireParties(protocol, [body.caseManager.agency]);
    if (partyOf(protocol, body.caseManager.agency)?.kind === 'coordination') throw new RuleViolation('aggregates-only', body.caseManager.agency);
    if (state.status !== 'referred') throw new RuleViolation('already-in-charge');
    return [{ type: 'CaseTakenInCharge', data: body }];
  },
});
