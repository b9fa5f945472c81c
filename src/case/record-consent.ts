import { z } from 'zod';
import { ConsentRecorded, TextOrNote } from '../../events';
import { RuleViolation } from '../errors';
import { caseCommand } from './case-command';
import { openCaseForMember, requireParties } from './decision';

/** The body is the event without the id the command makes; a purpose is a Note (text up to 10,000) or a bare string (common) of up to 200 characters. */
const RecordConsentBody = ConsentRecorded.omit({ consentId: true })
  .extend({ purposes: z.array(TextOrNote(200)).max(20).default([]) })
  .superRefine((body, ctx) => {
    if (body.validUntil && Date.parse(body.validUntil) <= Date.parse(body.collectedAt)) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after collectedAt' });
    }
  });

const COLLECTED_LEEWAY_MS = 5 * 60_000;

/** POST /v1/cases/{id}/consents: the person's authorisation (informativa, consenso). */
export const recordConsent = caseCommand({
  name: 'RecordConsent',
  route: { path: 'cases/:id/consents', roles: ['operator'], summary: 'Record an authorisation: which agencies may receive which categories' },
  body: RecordConsentBody,
  decide: (state, body, ctx) => {
    const protocol = openCaseForMember(state, ctx);
    requireParties(
      protocol,
      body.grants.map((g) => g.agency),
    );
    if (body.validUntil && Date.parse(body.validUntil) <= ctx.now.getTime()) throw new RuleViolation('consent-expired', 'validUntil has passed');
    // An authorisation is recorded once it was given: a collectedAt to come is a mistyped year (five minutes' leeway for the clock of the device that took it).
    if (Date.parse(body.collectedAt) > ctx.now.getTime() + COLLECTED_LEEWAY_MS) throw new RuleViolation('consent-collected-later');
    return [
      {
        type: 'ConsentRecorded',
        data: {
          ...body,
          consentId: ctx.ids.entity('consent'),
          grants: body.grants.map((g) => ({ agency: g.agency, categories: [...new Set(g.categories)] })),
          // Stored in one form (milliseconds, Z), so that deadlines compare as text.
          collectedAt: new Date(body.collectedAt).toISOString(),
          validUntil: body.validUntil && new Date(body.validUntil).toISOString(),
        },
      },
    ];
  },
  answer: (events) => ({ consentId: events.find((e) => e.type === 'ConsentRecorded')?.data.consentId }),
});
