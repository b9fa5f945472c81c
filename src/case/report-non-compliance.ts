import { z } from 'zod';
import { Notes } from '../../events';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/non-compliance: the person broke the service pact (art. 20 d.lgs. 150/2015); the case goes back to the team. */
export const ReportNonComplianceBody = z.strictObject({ commitment: z.string().trim().min(1).max(1_000).optional(), notes: Notes.optional() });
export type ReportNonComplianceBody = z.output<typeof ReportNonComplianceBody>;

export const reportNonCompliance: CaseDecision<ReportNonComplianceBody> = (state, body, ctx) => {
  openCaseForMember(state, ctx);
  return [{ type: 'NonComplianceReported', data: { commitment: body.commitment, notes: body.notes ?? [] } }];
};
