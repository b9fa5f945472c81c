import { z } from 'zod';
import { Notes } from '../../events';
import { RuleViolation } from '../errors';
import { partyOf } from '../../events';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/members/{agency}/removal */
export const RemoveTeamMemberBody = z.strictObject({ notes: Notes.optional() });
export type RemoveTeamMemberInput = z.output<typeof RemoveTeamMemberBody> & { agency: string };

export const removeTeamMember: CaseDecision<RemoveTeamMemberInput> = (state, input, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  if (partyOf(protocol, input.agency)?.minimalEquipe) throw new RuleViolation('minimal-equipe-fixed', input.agency);
  if (!state.team.has(input.agency)) throw new RuleViolation('not-a-member-of-case', input.agency);
  return [{ type: 'TeamMemberRemoved', data: { agency: input.agency, notes: input.notes ?? [] } }];
};
