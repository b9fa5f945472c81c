import { z } from 'zod';
import { Notes } from '../../events';
import { type CaseDecision, openCaseForMember } from './decision';

/** POST /v1/cases/{id}/notes */
export const RecordNotesBody = z.strictObject({ notes: Notes.min(1) });
export type RecordNotesBody = z.output<typeof RecordNotesBody>;

export const recordNotes: CaseDecision<RecordNotesBody> = (state, body, ctx) => {
  openCaseForMember(state, ctx);
  return [{ type: 'NoteRecorded', data: { notes: body.notes } }];
};
