import { AgencyId, partyOf, TeamMemberRemoved } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { callerKnows, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/members/{agency}/removal */
export const removeTeamMember = caseCommand({
  name: 'RemoveTeamMember',
  route: { path: 'cases/:id/members/:agency/removal', roles: ['coordinator'], summary: 'Remove an agency from the case team', params: { agency: AgencyId } },
  body: TeamMemberRemoved.omit({ agency: true }),
  input: (body, params) => ({ ...body, agency: params.agency }),
  decide: (state, input, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    if (partyOf(protocol, input.agency)?.minimalEquipe) throw new RuleViolation('minimal-equipe-fixed', input.agency);
    const visible = callerKnows(state, ctx).membershipOf(input.agency);
    // An agency the protocol does not name is `not-a-party` (API.md), unless the caller is shown it
    // on the team (a former party a renewal dropped stays removable): the answer then depends on
    // nothing the caller may not see, whether that agency is on the team or not.
    if (!partyOf(protocol, input.agency) && !(visible && state.team.has(input.agency))) throw new RuleViolation('not-a-party', input.agency);
    if (!visible) throw new RuleViolation('not-entitled', input.agency);
    if (!state.team.has(input.agency)) throw new RuleViolation('not-a-member-of-case', input.agency);
    return [{ type: 'TeamMemberRemoved', data: { agency: input.agency, notes: input.notes } }];
  },
});
