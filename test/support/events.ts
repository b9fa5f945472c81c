import { randomUUID } from 'node:crypto';
import type { EventToAppend } from '../../events/event-store';

/** A valid NoteRecorded event to append in store tests; `text` tells events apart. */
export function note(text: string, overrides: Partial<EventToAppend> = {}): EventToAppend {
  return {
    id: randomUUID(),
    type: 'NoteRecorded',
    data: { notes: [{ category: 'common', text }] },
    metadata: {
      zone: 'test-zone',
      agency: 'sds-test',
      operator: 'op-1',
      occurredAt: '2025-01-01T00:00:00.000Z',
      commandId: randomUUID(),
      correlationId: 'test',
    },
    ...overrides,
  };
}

export function texts(events: ReadonlyArray<{ data: unknown }>): string[] {
  return events.map((e) => (e.data as { notes: Array<{ text: string }> }).notes[0]!.text);
}
