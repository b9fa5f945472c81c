import { z } from 'zod';
import { type AgencyKind, type Category, MEMBERSHIP_CATEGORY } from './categories';
import { type Need, needCategory, type Outcome, outcomeCategory, type Programme, programmeCategory } from './codes';

/**
 * Every field of every event is marked with the kind of datum it is (zod `.meta({ datum })`), so
 * that its categories can be computed exactly as ENTITLEMENTS.md "The categories of each datum"
 * says. `none` marks what is not personal data (ids, revision numbers, institutional protocol
 * content). The policy, log redaction and, later, the audit export and per-person encryption all
 * read this one classification.
 */
export const DATUM_KINDS = [
  'none',
  'identity',
  'common',
  'need',
  'programme',
  'agency-ref',
  'note',
  'objective',
  'intervention',
  'verification-entry',
  'outcome',
  'closure-reason',
  'grant',
] as const;
export type DatumKind = (typeof DATUM_KINDS)[number];

export interface DatumMeta {
  datum: DatumKind;
}

/** Marks a schema as a datum of the given kind. */
export function datum<S extends z.ZodType>(kind: DatumKind, schema: S): S {
  return schema.meta({ datum: kind } satisfies DatumMeta);
}

export function datumKindOf(schema: z.ZodType): DatumKind | undefined {
  const meta = z.globalRegistry.get(schema) as Partial<DatumMeta> | undefined;
  return meta?.datum;
}

/** What classification needs to know beyond the datum itself. */
export interface ClassificationContext {
  /** The kind of an agency, from the zone's protocol (any version); undefined if never a party. */
  kindOf(agency: string): AgencyKind | undefined;
  /** The categories of a plan objective, for verification entries. */
  objectiveCategories(planRevision: number, objectiveId: string): readonly Category[] | undefined;
}

/**
 * A reference to an agency nobody knows the kind of is treated as carrying every sensitive
 * category: it is then visible only to whoever may see everything, never less protected.
 */
const UNKNOWN_REFERENCE: readonly Category[] = ['special', 'health', 'judicial'];

export function agencyReferenceCategories(agency: string, ctx: Pick<ClassificationContext, 'kindOf'>): readonly Category[] {
  const kind = ctx.kindOf(agency);
  return kind ? [MEMBERSHIP_CATEGORY[kind]] : UNKNOWN_REFERENCE;
}

function union(...sets: ReadonlyArray<readonly Category[]>): Category[] {
  const all = new Set<Category>();
  for (const set of sets) for (const c of set) all.add(c);
  return [...all].sort();
}

type Obj = Record<string, unknown>;

/** The categories of one datum (ENTITLEMENTS.md "The categories of each datum"). */
export function categoriesOf(kind: DatumKind, value: unknown, ctx: ClassificationContext, planRevision?: number): Category[] {
  switch (kind) {
    case 'none':
      return [];
    case 'identity':
    case 'common':
    case 'closure-reason':
      return ['common'];
    case 'need':
      return [needCategory(value as Need)];
    case 'programme':
      return [programmeCategory(value as Programme)];
    case 'outcome':
      return [outcomeCategory(value as Outcome)];
    case 'note':
      return [(value as { category: Category }).category];
    case 'agency-ref':
      return union(agencyReferenceCategories(typeof value === 'string' ? value : String((value as Obj).agency), ctx));
    case 'grant':
      // "health granted to SdS" says health data exists: the target's membership category and every category granted.
      return union(agencyReferenceCategories(String((value as Obj).agency), ctx), (value as { categories: Category[] }).categories);
    case 'objective':
      return union(['common'], [needCategory((value as { dimension: Need }).dimension)]);
    case 'intervention': {
      const v = value as { category?: Category; responsibleAgency: string; programme?: Programme };
      return union([v.category ?? 'common'], agencyReferenceCategories(v.responsibleAgency, ctx), v.programme ? [programmeCategory(v.programme)] : []);
    }
    case 'verification-entry': {
      const objectiveId = String((value as Obj).objectiveId);
      const found = planRevision === undefined ? undefined : ctx.objectiveCategories(planRevision, objectiveId);
      return union(found ?? UNKNOWN_REFERENCE);
    }
  }
}
