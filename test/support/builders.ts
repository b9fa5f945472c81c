import type { CaseEvent, Category, ClosureReason, Need, Note, Outcome, Programme } from '../../events';
import { AGENCIES, PERSON } from './fixtures';

/**
 * The shared event builders of the given / when / then vocabulary: decider specs, policy specs
 * and the property tests describe histories with them. Each makes one event with its author
 * agency (`by`, SdS unless said) and the fewest fields a story needs; options override them.
 */
export type Given = CaseEvent & { by?: string; operator?: string };

export const CASE_ID = '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11';
export const CONSENT_ID = '7a1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b12';

export const referred = (o: { by?: string; needs?: Need[]; programmes?: Programme[]; notes?: Note[] } = {}): Given => ({
  type: 'ReferralSubmitted',
  by: o.by ?? AGENCIES.serd,
  data: { caseId: CASE_ID, person: PERSON, needs: o.needs ?? ['employment', 'addiction'], programmes: o.programmes ?? ['GOL-4'], urgency: 'ordinary', notes: o.notes ?? [] },
});

export const inCharge = (o: { by?: string; caseManager?: { agency: string; operator: string }; prevalentNeed?: Need } = {}): Given => ({
  type: 'CaseTakenInCharge',
  by: o.by,
  data: { caseManager: o.caseManager ?? { agency: AGENCIES.sds, operator: 'as-rossi' }, prevalentNeed: o.prevalentNeed ?? 'employment', notes: [] },
});

export const consented = (o: { by?: string; consentId?: string; agency?: string; categories?: Category[]; validUntil?: string } = {}): Given => ({
  type: 'ConsentRecorded',
  by: o.by,
  data: {
    consentId: o.consentId ?? CONSENT_ID,
    grants: [{ agency: o.agency ?? AGENCIES.mentalHealth, categories: o.categories ?? ['health'] }],
    purposes: [],
    legalBasis: 'explicit-consent',
    informativaVersion: 'v1',
    collectedAt: '2025-05-01T10:00:00.000Z',
    ...(o.validUntil ? { validUntil: o.validUntil } : {}),
    notes: [],
  },
});

export const withdrawn = (consentId = CONSENT_ID, by?: string): Given => ({ type: 'ConsentWithdrawn', by, data: { consentId, notes: [] } });

export const expired = (consentId: string, validUntil: string): Given => ({ type: 'ConsentExpired', by: 'ledger', data: { consentId, validUntil } });

export const added = (agency: string, by?: string): Given => ({ type: 'TeamMemberAdded', by, data: { member: { agency, tier: 'extended' }, notes: [] } });

export const removed = (agency: string, by?: string): Given => ({ type: 'TeamMemberRemoved', by, data: { agency, notes: [] } });

export const noted = (category: Category, text: string, by?: string): Given => ({ type: 'NoteRecorded', by, data: { notes: [{ category, text }] } });

export const drafted = (o: { by?: string; planRevision?: number; responsibleAgencies?: string[] } = {}): Given => ({
  type: 'PlanRevisionDrafted',
  by: o.by,
  data: {
    planRevision: o.planRevision ?? 1,
    objectives: [{ id: 'o1', dimension: 'employment', description: 'work internship', term: 'short' }],
    interventions: (o.responsibleAgencies ?? [AGENCIES.cpi]).map((agency, i) => ({
      id: `i${i + 1}`,
      code: 'A2.09',
      description: 'tirocinio',
      responsibleAgency: agency,
      from: '2025-06-01',
    })),
    commitments: [{ category: 'common', text: 'attend the CPI interviews' }],
    notes: [],
  },
});

export const agreed = (planRevision = 1, by?: string): Given => ({ type: 'PlanRevisionAgreed', by, data: { planRevision, agreedOn: '2025-06-01', notes: [] } });

export const validated = (planRevision = 1, by?: string): Given => ({ type: 'PlanRevisionValidated', by, data: { planRevision, notes: [] } });

export const outcome = (outcomes: Outcome[] = ['internship'], by?: string): Given => ({ type: 'OutcomeRecorded', by, data: { outcomes, notes: [] } });

export const closed = (reason: ClosureReason = 'objectives-achieved', by?: string): Given => ({ type: 'CaseClosed', by, data: { reason, notes: [] } });

export const reopened = (by?: string): Given => ({ type: 'CaseReopened', by, data: { notes: [] } });
