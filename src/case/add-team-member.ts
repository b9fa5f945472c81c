import { z } from 'zod';
import { AgencyId, isFullMember, Notes, partyOf, TIERS } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/members: extends the team (equipe allargata). */
export const addTeamMember = caseCommand({
  name: 'AddTeamMember',
  route: { path: 'cases/:id/members', roles: ['coordinator'], summary: 'Add an agency to the case team' },
  body: z.strictObject({ agency: AgencyId, tier: z.enum(TIERS), notes: Notes.default([]) }),
  decide: (state, body, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    requireParties(protocol, [body.agency]);
    if (partyOf(protocol, body.agency)?.kind === 'coordination') throw new RuleViolation('aggregates-only', body.agency);
    if (isFullMember(state, protocol, body.agency)) throw new RuleViolation('already-member', body.agency);
    return [{ type: 'TeamMemberAdded', data: { member: { agency: body.agency, tier: body.tier }, notes: body.notes } }];
  },
});
