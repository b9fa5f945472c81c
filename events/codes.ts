import { z } from 'zod';
import type { Category } from './categories';

/** API.md "Codes": need and objective dimensions. ENTITLEMENTS.md gives each its category. */
export const NEEDS = [
  'employment',
  'training',
  'income',
  'housing',
  'family',
  'education',
  'social-relations',
  'addiction',
  'mental-health',
  'disability',
  'physical-health',
  'justice',
] as const;
export const Need = z.enum(NEEDS);
export type Need = z.infer<typeof Need>;

export function needCategory(need: Need): Category {
  switch (need) {
    case 'addiction':
    case 'mental-health':
    case 'disability':
    case 'physical-health':
      return 'health';
    case 'justice':
      return 'judicial';
    default:
      return 'common';
  }
}

export const PROGRAMMES = ['GOL-1', 'GOL-2', 'GOL-3', 'GOL-4', 'GOL-5', 'ADI', 'SFL', 'L68', 'PNRR', 'FSE-PLUS', 'RDC', 'OTHER'] as const;
export const Programme = z.enum(PROGRAMMES);
export type Programme = z.infer<typeof Programme>;

/** L68 (targeted placement of disabled workers, L. 68/1999) reveals a disability. */
export function programmeCategory(programme: Programme): Category {
  return programme === 'L68' ? 'health' : 'common';
}

export const DECISIONS = ['take-in-charge', 'redirect', 'not-eligible', 'extend-equipe', 'approve-plan', 'revise-plan', 'close', 'other'] as const;
export const Decision = z.enum(DECISIONS);
export type Decision = z.infer<typeof Decision>;

export const OUTCOMES = [
  'employment-contract',
  'self-employment',
  'internship',
  'training',
  'social-inclusion',
  'housing',
  'health-pathway',
  'dropped-out',
  'moved',
  'transferred',
  'not-eligible',
  'redirected',
  'deceased',
  'other',
] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

export function outcomeCategory(outcome: Outcome): Category {
  return outcome === 'health-pathway' ? 'health' : 'common';
}

export const CLOSURE_REASONS = ['objectives-achieved', 'transferred', 'moved', 'dropped-out', 'not-eligible', 'redirected', 'deceased', 'other'] as const;
export const ClosureReason = z.enum(CLOSURE_REASONS);
export type ClosureReason = z.infer<typeof ClosureReason>;

/**
 * The 36 SIUSS benefit codes (CodicePrestazione, INPS SIUSS PS/PSA schema); the `code` of a plan
 * intervention. The list is ../shared/reference/siuss-codice-prestazione.csv; a test keeps them equal.
 */
export const SIUSS_BENEFIT_CODES = [
  'A1.01',
  'A1.02',
  'A1.03',
  'A1.04',
  'A1.05',
  'A1.06',
  'A1.07',
  'A1.08',
  'A1.09',
  'A1.10',
  'A1.11',
  'A1.12',
  'A1.13',
  'A1.14',
  'A1.15',
  'A1.16',
  'A1.17',
  'A1.18',
  'A1.19',
  'A1.20',
  'A2.01',
  'A2.02',
  'A2.03',
  'A2.04',
  'A2.05',
  'A2.06',
  'A2.07',
  'A2.08',
  'A2.09',
  'A2.10',
  'A2.11',
  'A2.12',
  'A3.01',
  'A3.02',
  'A3.03',
  'Z9.99',
] as const;
export const SiussBenefitCode = z.enum(SIUSS_BENEFIT_CODES);
export type SiussBenefitCode = z.infer<typeof SiussBenefitCode>;
