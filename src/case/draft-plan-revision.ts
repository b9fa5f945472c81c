import { z } from 'zod';
import { PlanRevisionDrafted, TextOrNote } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openPlanForMember, requireParties } from './decision';

function uniqueIds(items: ReadonlyArray<{ id: string }>, field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [field, i, 'id'], message: 'appears twice in this revision' });
    seen.add(item.id);
  });
}

/** The body is the event without the revision number the command gives it; a commitment is a Note (text up to 10,000) or a bare string (common) of up to 1,000 characters. */
const DraftPlanRevisionBody = PlanRevisionDrafted.omit({ planRevision: true })
  .extend({ commitments: z.array(TextOrNote(1_000)).max(50) })
  .superRefine((body, ctx) => {
    uniqueIds(body.objectives, 'objectives', ctx);
    uniqueIds(body.interventions, 'interventions', ctx);
    body.interventions.forEach((intervention, i) => {
      if (intervention.to && intervention.to < intervention.from) ctx.addIssue({ code: 'custom', path: ['interventions', i, 'to'], message: 'must not be before from' });
    });
  });

/** POST /v1/cases/{id}/plan/revisions: a PaIS revision (objectives, interventions, the person's commitments). */
export const draftPlanRevision = caseCommand({
  name: 'DraftPlanRevision',
  route: { path: 'cases/:id/plan/revisions', roles: ['operator'], summary: 'Draft a plan (PaIS) revision' },
  body: DraftPlanRevisionBody,
  decide: (state, body, ctx) => {
    // A caller not shown the plan's revisions would learn their count from the number given.
    const protocol = openPlanForMember(state, ctx);
    if (state.status === 'referred') throw new RuleViolation('plan-before-taking-in-charge');
    requireParties(
      protocol,
      body.interventions.map((i) => i.responsibleAgency),
    );
    return [{ type: 'PlanRevisionDrafted', data: { planRevision: state.planRevisions.size + 1, ...body } }];
  },
  answer: (events) => ({ planRevision: events.find((e) => e.type === 'PlanRevisionDrafted')?.data.planRevision }),
});
