import { OutcomeRecorded } from '../../events';
import { caseCommand } from './case-command';
import { openCaseForMember } from './decision';

/** POST /v1/cases/{id}/outcomes: the outcome sheet (scheda esito); several outcomes at once. */
export const recordOutcome = caseCommand({
  name: 'RecordOutcome',
  route: { path: 'cases/:id/outcomes', roles: ['operator'], summary: 'Record outcomes (scheda esito)' },
  body: OutcomeRecorded,
  decide: (state, body, ctx) => {
    openCaseForMember(state, ctx);
    return [{ type: 'OutcomeRecorded', data: { outcomes: [...new Set(body.outcomes)], notes: body.notes } }];
  },
});
