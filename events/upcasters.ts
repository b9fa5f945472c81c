import { z } from 'zod';
import { Need, Programme } from './codes';
import { Notes, Person } from './values';

/**
 * Events are permanent: an old shape is frozen here, never edited, and an upcaster brings it
 * forward when it is read. Writers always write the current version (catalogue.ts).
 */

/** ReferralSubmitted v1 (frozen): urgency was a boolean flag. */
export const ReferralSubmittedV1 = z.strictObject({
  caseId: z.uuid(),
  person: Person,
  needs: z.array(Need).min(1),
  programmes: z.array(Programme).default([]),
  urgent: z.boolean(),
  notes: Notes.default([]),
});
type ReferralSubmittedV1 = z.output<typeof ReferralSubmittedV1>;

/** v1 → v2: `urgent: boolean` became `urgency: "ordinary" | "urgent"`, room for more levels. */
function referralV1toV2(data: ReferralSubmittedV1): Record<string, unknown> {
  const { urgent, ...rest } = data;
  return { ...rest, urgency: urgent ? 'urgent' : 'ordinary' };
}

type Upcaster = (data: never) => Record<string, unknown>;

/** UPCASTERS[type][v] turns version v into version v + 1. */
export const UPCASTERS: Readonly<Record<string, Readonly<Record<number, Upcaster>>>> = {
  ReferralSubmitted: { 1: referralV1toV2 },
};
