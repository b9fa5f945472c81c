import { z } from 'zod';
import { Intervention, Notes, Objective } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember, requireParties } from './decision';

function uniqueIds(items: ReadonlyArray<{ id: string }>, field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [field, i, 'id'], message: 'appears twice in this revision' });
    seen.add(item.id);
  });
}

/** POST /v1/cases/{id}/plan/revisions: a PaIS revision (objectives, interventions, the person's commitments). */
export const DraftPlanRevisionBody = z
  .strictObject({
    objectives: z.array(Objective).min(1).max(50),
    interventions: z.array(Intervention).max(50),
    commitments: z.array(z.string().trim().min(1).max(1_000)).max(50),
    notes: Notes.optional(),
  })
  .superRefine((body, ctx) => {
    uniqueIds(body.objectives, 'objectives', ctx);
    uniqueIds(body.interventions, 'interventions', ctx);
    body.interventions.forEach((intervention, i) => {
      if (intervention.to && intervention.to < intervention.from) ctx.addIssue({ code: 'custom', path: ['interventions', i, 'to'], message: 'must not be before from' });
    });
  });
export type DraftPlanRevisionBody = z.output<typeof DraftPlanRevisionBody>;

export const draftPlanRevision: CaseDecision<DraftPlanRevisionBody> = (state, body, ctx) => {
  const protocol = openCaseForMember(state, ctx);
  if (state.status === 'referred') throw new RuleViolation('plan-before-taking-in-charge');
  requireParties(protocol, body.interventions.map((i) => i.responsibleAgency));
  return [
    {
      type: 'PlanRevisionDrafted',
      data: {
        planRevision: state.planRevisions.size + 1,
        objectives: body.objectives,
        interventions: body.interventions,
        commitments: body.commitments,
        notes: body.notes ?? [],
      },
    },
  ];
};
