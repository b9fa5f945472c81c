import { NonComplianceReported, TextOrNote } from '../../events';
import { caseCommand } from './case-command';
import { openCaseForMember } from './decision';

/** POST /v1/cases/{id}/non-compliance: the person broke the service pact (art. 20 d.lgs. 150/2015); the case goes back to the team. */
export const reportNonCompliance = caseCommand({
  name: 'ReportNonCompliance',
  route: { path: 'cases/:id/non-compliance', roles: ['operator'], summary: 'Report non-compliance with the service pact' },
  /** The commitment broken: a Note (text up to 10,000) or a bare string (common) of up to 1,000 characters. */
  body: NonComplianceReported.extend({ commitment: TextOrNote(1_000).optional() }),
  decide: (state, body, ctx) => {
    openCaseForMember(state, ctx);
    return [{ type: 'NonComplianceReported', data: body }];
  },
});
