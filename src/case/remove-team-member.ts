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
    if (!callerKnows(state, ctx).membershipOf(input.agency)) throw new RuleViolation('not-entitled', input.agency);
    if (!state.team.has(input.agency)) throw new RuleViolation('not-a-member-of-case', input.agency);
    return [{ type: 'TeamMemberRemoved', data: { agency: input.agency, notes: input.notes } }];
  },
});
