import { VerificationRecorded } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { callerKnows, openPlanForMember } from './decision';

const RecordVerificationBody = VerificationRecorded.superRefine((body, ctx) => {
  const seen = new Set<string>();
  body.progress.forEach((entry, i) => {
    if (seen.has(entry.objectiveId)) ctx.addIssue({ code: 'custom', path: ['progress', i, 'objectiveId'], message: 'appears twice' });
    seen.add(entry.objectiveId);
  });
});

/** POST /v1/cases/{id}/verifications: progress per objective (scheda di monitoraggio e verifica). */
export const recordVerification = caseCommand({
  name: 'RecordVerification',
  route: { path: 'cases/:id/verifications', roles: ['operator'], summary: 'Record a verification of progress per objective' },
  body: RecordVerificationBody,
  decide: (state, body, ctx) => {
    openPlanForMember(state, ctx);
    const revision = state.planRevisions.get(body.planRevision);
    if (!revision) throw new RuleViolation('unknown-plan-revision', String(body.planRevision));
    const knows = callerKnows(state, ctx);
    const unknown = body.progress.find((p) => !knows.objective(body.planRevision, p.objectiveId));
    if (unknown) throw new RuleViolation('unknown-objective', unknown.objectiveId);
    return [{ type: 'VerificationRecorded', data: body }];
  },
});
