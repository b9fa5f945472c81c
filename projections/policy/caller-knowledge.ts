import { agencyReferenceCategories, type CaseState, type Category, needCategory, outcomeCategory, type ZoneProtocol } from '../../events';
import { type Entitlement, entitlementOf, memberBasis } from './entitlements';

/**
 * ENTITLEMENTS.md "Commands are decided on the caller's view": what the calling agency may know
 * of a case, asked by the decisions so that no status, rule or field of a command's answer
 * depends on data the caller cannot see. Each answer applies the same rules as the views
 * (entitlements.ts) to the case as the ledger says it is now.
 */
export interface CallerKnowledge {
  /** The authorisation exists and the caller is shown it (some grant of it is visible). */
  consent(consentId: string): boolean;
  /** The objective is in that plan revision and the caller is shown it. */
  objective(planRevision: number, objectiveId: string): boolean;
  /**
   * The caller is shown the plan's revisions as they are: their numbers, status and dates are
   * `common` (ENTITLEMENTS.md), shown by rule 3 alone. A caller that does not receive `common` sees
   * neither how many there are nor which were agreed, so it can act on none.
   */
  planRevisions(): boolean;
  /** How many outcome records since the case was (re)opened the caller is shown. */
  outcomesSinceOpening(): number;
  /**
   * The caller would be shown that agency's membership of the case by rule 2 (it is the caller)
   * or rule 3 (full member, the membership category receivable and, where required,
   * authorised). Authorship (rule 1) does not count: it would let anyone probe by trying.
   */
  membershipOf(agency: string): boolean;
}

export function callerKnowledge(state: CaseState, protocol: ZoneProtocol | undefined, agency: string): CallerKnowledge {
  let entitlement: Entitlement | undefined;
  const ent = () => (entitlement ??= entitlementOf(state, protocol, agency));
  const kindOf = (other: string) => protocol?.kinds.get(other);
  const allowed = (categories: readonly Category[]) => memberBasis(ent(), [...new Set(categories)].sort()) !== null;
  return {
    consent(consentId) {
      const consent = state.consents.get(consentId);
      if (!consent) return false;
      if (consent.author === agency) return true;
      return consent.grants.some((g) => g.agency === agency || allowed([...agencyReferenceCategories(g.agency, { kindOf }), ...g.categories]));
    },
    objective(planRevision, objectiveId) {
      const revision = state.planRevisions.get(planRevision);
      const dimension = revision?.objectives.get(objectiveId);
      if (!revision || !dimension) return false;
      return revision.author === agency || allowed(['common', needCategory(dimension)]);
    },
    planRevisions() {
      return allowed(['common']);
    },
    outcomesSinceOpening() {
      return state.outcomesSinceOpening.filter((r) => r.author === agency || r.outcomes.some((o) => allowed([outcomeCategory(o)]))).length;
    },
    membershipOf(other) {
      return other === agency || allowed(agencyReferenceCategories(other, { kindOf }));
    },
  };
}
