import { z } from 'zod';
import { AgencyId, Category, OperatorId } from './categories';
import { Need, Programme, SiussBenefitCode } from './codes';
import { datum } from './datum';
import { FISCAL_CODE_MESSAGES, fiscalCodeProblem } from './fiscal-code';

/** The value shapes that events and command bodies share; every object is strict (API.md: unknown fields are an error). */

export const IsoDate = z.iso.date({ error: 'must be a date YYYY-MM-DD' });
export const IsoInstant = z.iso.datetime({ offset: false, error: 'must be an ISO-8601 UTC instant (…Z)' }).max(40);

export const FiscalCode = z
  .string()
  .trim()
  .toUpperCase()
  .superRefine((code, ctx) => {
    const problem = fiscalCodeProblem(code);
    if (problem) ctx.addIssue({ code: 'custom', message: FISCAL_CODE_MESSAGES[problem] });
  })
  .meta({
    description: 'Italian codice fiscale, checked in full: pattern, omocodia letters, month, day and check character',
    examples: ['RSSMRA85T10A562S'],
    maxLength: 16,
    pattern: '^[A-Za-z0-9]{16}$',
  });

/**
 * Characters no text of a person or a note holds: control characters (NUL and its kin; tab and
 * line breaks only where lines are allowed), the bidirectional overrides and isolates that make
 * text read other than it is stored (U+202A–U+202E, U+2066–U+2069), and unpaired surrogates,
 * which no UTF-8 file (an export, a CSV) can hold.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is what it is for
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const LINE_BREAKS = /[\t\n\r]/;
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TEXT_MESSAGE = 'must not hold control characters, bidirectional overrides or unpaired surrogates';
/** A text of lines (a note): tabs and line breaks allowed. */
const plainText = (text: string) => !CONTROLS.test(text) && !UNPAIRED.test(text);
/** A text of one line (a name, an address). */
const oneLine = (text: string) => plainText(text) && !LINE_BREAKS.test(text);

/** A one-line text of at most `max` characters, no control characters, bidirectional overrides nor unpaired surrogates (a name, an address, a protocol's title). */
export const OneLine = (max: number) => z.string().trim().min(1).max(max).refine(oneLine, TEXT_MESSAGE);

const Name = OneLine(100);

/** A birth date: a date, and not one after today (UTC, a day's leeway for time zones). */
const BirthDate = IsoDate.refine((date) => date <= new Date(Date.now() + 86_400_000).toISOString().slice(0, 10), 'must not be in the future');

export const Person = z.strictObject({
  fiscalCode: FiscalCode,
  givenName: Name,
  familyName: Name,
  birthDate: BirthDate,
  phone: z
    .string()
    .regex(/^\+?[0-9 ().-]{5,30}$/, 'must be a phone number')
    .meta({ maxLength: 31 })
    .optional(),
  email: z.email().max(254).optional(),
  address: OneLine(300).optional(),
});
export type Person = z.infer<typeof Person>;

/** Free text of another field (trimmed, 1 to `max` characters, of lines). */
const FreeText = (max: number) => z.string().trim().min(1).max(max).refine(plainText, TEXT_MESSAGE);

/** API.md "Conventions": a note's text is 1–10,000 characters. */
const NOTE_TEXT_MAX = 10_000;

/** API.md "Conventions": a note carries the category its author declares. */
export const Note = datum(
  'note',
  z.strictObject({
    category: Category,
    text: z.string().min(1).max(NOTE_TEXT_MAX).refine(plainText, TEXT_MESSAGE),
  }),
);
export type Note = z.infer<typeof Note>;
export const Notes = z.array(Note).max(50);

/**
 * Free text of another field (a commitment, a purpose) as stored: a note with the category its
 * author declares and a note's text (ENTITLEMENTS.md "Free text has a declared category
 * everywhere"; API.md "Conventions": 1–10,000 characters). A bare string sent for such a field
 * is capped shorter by TextOrNote; once stored, the two are not told apart.
 */
export const FreeTextNote = datum('note', z.strictObject({ category: Category, text: FreeText(NOTE_TEXT_MAX) }));

/**
 * What a client may send for such a field (API.md "commitments: [string | Note]"): a Note, whose
 * text is a note's (1–10,000 characters), or a bare string, which is `common` and keeps the
 * field's own shorter cap `bareMax` (API.md gives a bare string no length of its own).
 */
export const TextOrNote = (bareMax: number) =>
  z
    .union([FreeText(bareMax), z.strictObject({ category: Category, text: FreeText(NOTE_TEXT_MAX) })])
    .transform((t) => (typeof t === 'string' ? { category: 'common' as const, text: t } : t))
    .meta({
      description: `Free text with a declared category: a Note, its text 1–${NOTE_TEXT_MAX.toLocaleString('en-US')} characters, or a bare string of 1–${bareMax.toLocaleString('en-US')} characters, which is a note of category common.`,
    });

export const CaseManager = z.strictObject({ agency: AgencyId, operator: OperatorId });

export const Grant = z.strictObject({
  agency: AgencyId,
  categories: z.array(Category).min(1).max(4),
});
export type Grant = z.infer<typeof Grant>;

const LocalId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a short id (letters, digits, . _ -)')
  .meta({ maxLength: 64 });

export const Objective = z.strictObject({
  id: LocalId,
  dimension: Need,
  description: FreeText(2_000),
  term: z.enum(['short', 'long']),
  dueDate: IsoDate.optional(),
});
export type Objective = z.infer<typeof Objective>;

export const Intervention = z.strictObject({
  id: LocalId,
  code: SiussBenefitCode,
  description: FreeText(2_000),
  responsibleAgency: AgencyId,
  category: Category.optional(),
  from: IsoDate,
  to: IsoDate.optional(),
  programme: Programme.optional(),
});
export type Intervention = z.infer<typeof Intervention>;

export const PROGRESS_STATUSES = ['achieved', 'partly-achieved', 'not-achieved', 'in-progress'] as const;
export const ProgressEntry = z.strictObject({
  objectiveId: LocalId,
  status: z.enum(PROGRESS_STATUSES),
});
export type ProgressEntry = z.infer<typeof ProgressEntry>;

export const LEGAL_BASES = ['consent', 'explicit-consent', 'public-task', 'vital-interest'] as const;
export const COLLECTION_METHODS = ['written', 'electronic', 'verbal-witnessed'] as const;
export const SIGNERS = ['person', 'guardian', 'legal-representative', 'support-administrator'] as const;
export const URGENCIES = ['ordinary', 'urgent'] as const;
export const TIERS = ['minimal', 'extended'] as const;
