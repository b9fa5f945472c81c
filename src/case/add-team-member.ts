import { z } from 'zod';
import { AgencyId, Notes, TIERS } from '../../events';
import { RuleViolation } from '../errors';
import { partyOf } from '../../events';
import { isFullMember } from '../../events';
import { type CaseDecision, openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/members: extends the team (equipe allargata). */
export const AddTeamMemberBody = z.strictObject({ agency: AgencyId, tier: z.enum(TIERS), notes: Notes.optional() });
export type AddTeamMemberBody = z.output<typeof AddTeamMemberBody>;

export const addTeamMember: CaseDecision<AddTeamMemberBody> = (state, body, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  requireParties(protocol, [body.agency]);
  if (partyOf(protocol, body.agency)?.kind === 'coordination') throw new RuleViolation('aggregates-only', body.agency);
  if (isFullMember(state, protocol, body.agency)) throw new RuleViolation('already-member', body.agency);
  return [{ type: 'TeamMemberAdded', data: { member: { agency: body.agency, tier: body.tier }, notes: body.notes ?? [] } }];
};
