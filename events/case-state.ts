import type { CaseEvent } from './catalogue';
import type { EventMetadata } from './metadata';
import type { Need, Outcome } from './codes';
import type { Grant } from './values';
import type { CaseMembership } from './case-membership';

/*
 * The one fold of a case's events: the decider decides on it, the policy reads membership,
 * consents and status from it. Two folds could disagree on what the ledger says.
 */

export const CASE_STATUSES = ['referred', 'in-charge', 'plan-active', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export interface ConsentState {
  /** The agency that recorded it (rule 1 of ENTITLEMENTS.md lets it see it). */
  readonly author: string;
  readonly grants: readonly Grant[];
  readonly validUntil?: string;
  readonly status: 'active' | 'withdrawn' | 'expired';
}

export interface PlanRevisionState {
  /** The agency that drafted it. */
  readonly author: string;
  /** Each objective's dimension: its categories are common plus the dimension's. */
  readonly objectives: ReadonlyMap<string, Need>;
  readonly agreed: boolean;
  readonly validated: boolean;
}

/** What is known of a case: folded from its stream, nothing else. */
export interface CaseState extends CaseMembership {
  readonly caseId?: string;
  readonly status: CaseStatus;
  readonly consents: ReadonlyMap<string, ConsentState>;
  readonly planRevisions: ReadonlyMap<number, PlanRevisionState>;
  /** The case's person was erased: its data is unreadable, only its shape is left, and it takes no more commands. */
  readonly erased: boolean;
  /** The outcome records since the case was opened or last reopened, with who recorded each. */
  readonly outcomesSinceOpening: ReadonlyArray<{ readonly outcomes: readonly Outcome[]; readonly author: string }>;
}

export const EMPTY_CASE: CaseState = {
  exists: false,
  status: 'referred',
  authors: new Set(),
  team: new Map(),
  consents: new Map(),
  planRevisions: new Map(),
  outcomesSinceOpening: [],
  erased: false,
};

function withMap<K, V>(map: ReadonlyMap<K, V>, key: K, value: V | undefined): Map<K, V> {
  const next = new Map(map);
  if (value === undefined) next.delete(key);
  else next.set(key, value);
  return next;
}

/** evolve: the state after one more event. Pure; it never refuses an event (the ledger is the truth). */
export function evolve(state: CaseState, event: CaseEvent, metadata: Pick<EventMetadata, 'agency'>): CaseState {
  const s: CaseState = state.authors.has(metadata.agency) ? state : { ...state, authors: new Set([...state.authors, metadata.agency]) };
  if ((event.data as { erased?: boolean }).erased) return evolveErased(s, event, metadata);
  switch (event.type) {
    case 'ReferralSubmitted':
      return { ...s, exists: true, caseId: event.data.caseId, status: 'referred', referrer: metadata.agency };
    case 'ConsentRecorded':
      return {
        ...s,
        consents: withMap(s.consents, event.data.consentId, { author: metadata.agency, grants: event.data.grants, validUntil: event.data.validUntil, status: 'active' }),
      };
    case 'ConsentWithdrawn':
    case 'ConsentExpired': {
      const consent = s.consents.get(event.data.consentId);
      if (!consent) return s;
      const status = event.type === 'ConsentWithdrawn' ? 'withdrawn' : 'expired';
      return { ...s, consents: withMap(s.consents, event.data.consentId, { ...consent, status }) };
    }
    case 'CaseTakenInCharge':
      return { ...s, status: s.status === 'referred' ? 'in-charge' : s.status, caseManagerAgency: event.data.caseManager.agency };
    case 'TeamMemberAdded':
      return { ...s, team: withMap(s.team, event.data.member.agency, event.data.member.tier) };
    case 'TeamMemberRemoved':
      return { ...s, team: withMap(s.team, event.data.agency, undefined) };
    case 'PlanRevisionDrafted':
      return {
        ...s,
        planRevisions: withMap(s.planRevisions, event.data.planRevision, {
          author: metadata.agency,
          objectives: new Map(event.data.objectives.map((o) => [o.id, o.dimension])),
          agreed: false,
          validated: false,
        }),
      };
    case 'PlanRevisionAgreed':
    case 'PlanRevisionValidated': {
      const revision = s.planRevisions.get(event.data.planRevision);
      if (!revision) return s;
      const next = event.type === 'PlanRevisionAgreed' ? { ...revision, agreed: true } : { ...revision, validated: true };
      const planRevisions = withMap(s.planRevisions, event.data.planRevision, next);
      const active = next.agreed && next.validated && s.status === 'in-charge';
      return { ...s, planRevisions, status: active ? 'plan-active' : s.status };
    }
    case 'OutcomeRecorded':
      return { ...s, outcomesSinceOpening: [...s.outcomesSinceOpening, { outcomes: event.data.outcomes, author: metadata.agency }] };
    case 'CaseClosed':
      return { ...s, status: 'closed' };
    case 'CaseReopened':
      return { ...s, status: 'in-charge', outcomesSinceOpening: [] };
    case 'TeamDecisionRecorded':
    case 'VerificationRecorded':
    case 'NonComplianceReported':
    case 'NoteRecorded':
      return s;
  }
}

/**
 * An event whose person is erased: only its type, author and structural ids are left (the
 * codec keeps the case id, consent id and plan revision in clear). The case keeps its shape —
 * exists, status, who referred and wrote — and nothing of its content.
 */
function evolveErased(s: CaseState, event: CaseEvent, metadata: Pick<EventMetadata, 'agency'>): CaseState {
  const ids = event.data as { caseId?: string; planRevision?: number };
  const erased = { ...s, erased: true };
  switch (event.type) {
    case 'ReferralSubmitted':
      return { ...erased, exists: true, caseId: ids.caseId, status: 'referred', referrer: metadata.agency };
    case 'CaseTakenInCharge':
      return { ...erased, status: s.status === 'referred' ? 'in-charge' : s.status };
    case 'PlanRevisionAgreed':
    case 'PlanRevisionValidated': {
      const revision = ids.planRevision === undefined ? undefined : s.planRevisions.get(ids.planRevision);
      if (!revision || ids.planRevision === undefined) return erased;
      const next = event.type === 'PlanRevisionAgreed' ? { ...revision, agreed: true } : { ...revision, validated: true };
      const active = next.agreed && next.validated && s.status === 'in-charge';
      return { ...erased, planRevisions: withMap(s.planRevisions, ids.planRevision, next), status: active ? 'plan-active' : s.status };
    }
    case 'PlanRevisionDrafted':
      return ids.planRevision === undefined
        ? erased
        : { ...erased, planRevisions: withMap(s.planRevisions, ids.planRevision, { author: metadata.agency, objectives: new Map(), agreed: false, validated: false }) };
    case 'CaseClosed':
      return { ...erased, status: 'closed' };
    case 'CaseReopened':
      return { ...erased, status: 'in-charge' };
    default:
      return erased;
  }
}
