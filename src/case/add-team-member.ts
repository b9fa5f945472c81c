import { z } from 'zod';
import { AgencyId, isFullMember, Notes, partyOf, TIERS } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { callerKnows, openCaseForMember, requireParties } from './decision';

/**
 * POST /v1/cases/{id}/members: extends the team (equipe allargata). A coordinator may add an
 * agency only if its own agency would be shown that agency's membership (ENTITLEMENTS.md), so
 * the answer never tells whether a hidden agency is already on the team.
 */
export const addTeamMember = caseCommand({
  name: 'AddTeamMember',
  route: { path: 'cases/:id/members', roles: ['coordinator'], summary: 'Add an agency to the case team' },
  body: z.strictObject({ agency: AgencyId, tier: z.enum(TIERS), notes: Notes.default([]) }),
  decide: (state, body, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    requireParties(protocol, [body.agency]);
    if (partyOf(protocol, body.agency)?.kind === 'coordination') throw new RuleViolation('aggregates-only', body.agency);
    // Whether it is already on the team is asked only of a membership the caller would be shown.
    if (!callerKnows(state, ctx).membershipOf(body.agency)) throw new RuleViolation('not-entitled', body.agency);
    if (isFullMember(state, protocol, body.agency)) throw new RuleViolation('already-member', body.agency);
    return [{ type: 'TeamMemberAdded', data: { member: { agency: body.agency, tier: body.tier }, notes: body.notes } }];
  },
});
