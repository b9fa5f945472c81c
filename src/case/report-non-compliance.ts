import { NonComplianceReported } from '../../events';
import { caseCommand } from './case-command';
import { openCaseForMember } from './decision';

/** POST /v1/cases/{id}/non-compliance: the person broke the service pact (art. 20 d.lgs. 150/2015); the case goes back to the team. */
export const reportNonCompliance = caseCommand({
  name: 'ReportNonCompliance',
  route: { path: 'cases/:id/non-compliance', roles: ['operator'], summary: 'Report non-compliance with the service pact' },
  body: NonComplianceReported,
  decide: (state, body, ctx) => {
    openCaseForMember(state, ctx);
    return [{ type: 'NonComplianceReported', data: body }];
  },
});
