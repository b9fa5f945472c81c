import { z } from 'zod';
import { AgencyId, Decision, IsoDate, Notes } from '../../events';
import { type CaseDecision, openCaseForMember, requireParties } from './decision';

/** POST /v1/cases/{id}/decisions: a team decision, naming who took part. */
export const RecordDecisionBody = z.strictObject({
  decision: Decision,
  heldOn: IsoDate,
  participants: z.array(AgencyId).min(1).max(50),
  notes: Notes.optional(),
});
export type RecordDecisionBody = z.output<typeof RecordDecisionBody>;

export const recordDecision: CaseDecision<RecordDecisionBody> = (state, body, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  const participants = [...new Set(body.participants)];
  requireParties(protocol, participants);
  return [{ type: 'TeamDecisionRecorded', data: { decision: body.decision, heldOn: body.heldOn, participants, notes: body.notes ?? [] } }];
};
