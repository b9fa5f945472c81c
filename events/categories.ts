import { z } from 'zod';

/** Data categories of ENTITLEMENTS.md "Categories" (art. 9 and 10 GDPR). */
export const CATEGORIES = ['common', 'special', 'health', 'judicial'] as const;
export const Category = z.enum(CATEGORIES);
export type Category = z.infer<typeof Category>;

/** Agency kinds of DOMAIN.md "Who is involved". */
export const AGENCY_KINDS = [
  'social-services',
  'employment-centre',
  'addiction-services',
  'mental-health',
  'disability-services',
  'health-district',
  'probation',
  'housing',
  'third-sector',
  'school',
  'coordination',
] as const;
export const AgencyKind = z.enum(AGENCY_KINDS);
export type AgencyKind = z.infer<typeof AgencyKind>;

/** ENTITLEMENTS.md "Agency kinds": what each kind may receive unless the protocol narrows or widens it. */
export const DEFAULT_RECEIVABLE: Readonly<Record<AgencyKind, readonly Category[]>> = {
  'social-services': ['common', 'special', 'health', 'judicial'],
  'employment-centre': ['common'],
  'addiction-services': ['common', 'special', 'health'],
  'mental-health': ['common', 'special', 'health'],
  'disability-services': ['common', 'special', 'health'],
  'health-district': ['common', 'special', 'health'],
  probation: ['common', 'judicial'],
  housing: ['common'],
  'third-sector': ['common'],
  school: ['common'],
  coordination: [],
};

/**
 * ENTITLEMENTS.md "Agency kinds", membership category: a reference to an agency of this kind
 * (team member, case manager, grant target, author) carries this category. Knowing that SerD
 * is on a person's team is health data.
 */
export const MEMBERSHIP_CATEGORY: Readonly<Record<AgencyKind, Category>> = {
  'social-services': 'common',
  'employment-centre': 'common',
  'addiction-services': 'health',
  'mental-health': 'health',
  'disability-services': 'health',
  'health-district': 'health',
  probation: 'judicial',
  housing: 'common',
  'third-sector': 'common',
  school: 'common',
  coordination: 'common',
};

/** ENTITLEMENTS.md: `consentRequired` defaults to special, health, judicial. */
export const DEFAULT_CONSENT_REQUIRED: readonly Category[] = ['special', 'health', 'judicial'];

/** Agency ids, zone ids and operator ids are lowercase slugs (API.md "Protocol"). */
export const Slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'must be a lowercase slug (a-z, 0-9, -), at most 64 characters')
  .meta({ maxLength: 64 });

export const AgencyId = Slug;
export const ZoneId = Slug;
/** Operator ids come from identity providers: allow the usual id characters, never free text. */
export const OperatorId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'must be an operator id (letters, digits, . _ : @ -), at most 128 characters')
  .meta({ maxLength: 128 });
