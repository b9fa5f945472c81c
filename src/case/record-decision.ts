import { TeamDecisionRecorded } from '../../events';
import { caseCommand } from './case-command';
import { openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/decisions: a team decision, naming who took part. */
export const recordDecision = caseCommand({
  name: 'RecordDecision',
  route: { path: 'cases/:id/decisions', roles: ['operator'], summary: 'Record a team decision' },
  body: TeamDecisionRecorded,
  decide: (state, body, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    const participants = [...new Set(body.participants)];
    requireParties(protocol, participants);
    return [{ type: 'TeamDecisionRecorded', data: { ...body, participants } }];
  },
});
