import { NoteRecorded } from '../../events';
import { caseCommand } from './case-command';
import { openCaseForMember } from './decision';

/** POST /v1/cases/{id}/notes */
export const recordNotes = caseCommand({
  name: 'RecordNotes',
  route: { path: 'cases/:id/notes', roles: ['operator'], summary: 'Record notes' },
  body: NoteRecorded,
  decide: (state, body, ctx) => {
    openCaseForMember(state, ctx);
    return [{ type: 'NoteRecorded', data: body }];
  },
});
