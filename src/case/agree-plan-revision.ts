import { z } from 'zod';
import { IsoDate, Notes } from '../../events';
import { RuleViolation } from '../errors';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/plan/revisions/{n}/agreement: the person signs the pact. */
export const AgreePlanRevisionBody = z.strictObject({ agreedOn: IsoDate, notes: Notes.optional() });
export type AgreePlanRevisionInput = z.output<typeof AgreePlanRevisionBody> & { planRevision: number };

export const agreePlanRevision: CaseDecision<AgreePlanRevisionInput> = (state, input, ctx) => {
  openCaseForMember(state, ctx);
  const revision = state.planRevisions.get(input.planRevision);
  if (!revision) throw new RuleViolation('unknown-plan-revision', String(input.planRevision));
  if (revision.agreed) throw new RuleViolation('plan-revision-already-agreed', String(input.planRevision));
  return [{ type: 'PlanRevisionAgreed', data: { planRevision: input.planRevision, agreedOn: input.agreedOn, notes: input.notes ?? [] } }];
};
