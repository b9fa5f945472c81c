import { z } from 'zod';
import { IsoDate, Notes, ProgressEntry } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/verifications: progress per objective (scheda di monitoraggio e verifica). */
export const RecordVerificationBody = z
  .strictObject({
    planRevision: z.int().min(1),
    progress: z.array(ProgressEntry).min(1).max(50),
    nextDue: IsoDate.optional(),
    notes: Notes.optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.progress.forEach((entry, i) => {
      if (seen.has(entry.objectiveId)) ctx.addIssue({ code: 'custom', path: ['progress', i, 'objectiveId'], message: 'appears twice' });
      seen.add(entry.objectiveId);
    });
  });
export type RecordVerificationBody = z.output<typeof RecordVerificationBody>;

export const recordVerification: CaseDecision<RecordVerificationBody> = (state, body, ctx) => {
  openCaseForMember(state, ctx);
  const revision = state.planRevisions.get(body.planRevision);
  if (!revision) throw new RuleViolation('unknown-plan-revision', String(body.planRevision));
  const unknown = body.progress.find((p) => !revision.objectiveIds.has(p.objectiveId));
  if (unknown) throw new RuleViolation('unknown-objective', unknown.objectiveId);
  return [
    {
      type: 'VerificationRecorded',
      data: { planRevision: body.planRevision, progress: body.progress, nextDue: body.nextDue, notes: body.notes ?? [] },
    },
  ];
};
