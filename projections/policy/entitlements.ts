import { type CaseState, type Category, existsFor, isFullMember, type ZoneProtocol } from '../../events';
import { authorCategories, type CaseFacts, type Fact } from './case-facts';

/**
 * The rule of ENTITLEMENTS.md, to the letter. Agency A sees datum d of case C when:
 *   1. A authored d;
 *   2. d is only a reference to A itself;
 *   3. A is a full member of C, every category of d is receivable by A, and for every category
 *      of d in `consentRequired` an authorisation in C, not withdrawn (nor expired), grants it to A.
 * A referrer that is not a full member also sees the `common` outcome codes.
 * Each visible datum carries its basis: which of these allowed it, naming the authorisations.
 */
export type Basis = 'authored' | 'self-reference' | 'full-member' | 'referrer-feedback' | `consent:${string}`;

/** The authorisation a basis names (`consent:<id>`), if it names one. */
export function consentOfBasis(basis: string): string | undefined {
  return basis.startsWith('consent:') ? basis.slice('consent:'.length) : undefined;
}

export interface Entitlement {
  readonly agency: string;
  readonly exists: boolean;
  readonly fullMember: boolean;
  readonly referrer: boolean;
  readonly receivable: ReadonlySet<Category>;
  readonly consentRequired: ReadonlySet<Category>;
  /** For each category, the authorisations in force that grant it to the agency. */
  readonly grants: ReadonlyMap<Category, readonly string[]>;
  /** Rule 3's answer by set of categories: a case has few distinct sets, and many data. */
  readonly memo: Map<string, Basis[] | null>;
}

/** What the agency is entitled to in the case as the ledger says it is now (its fold and the protocol in force). */
export function entitlementOf(state: CaseState, protocol: ZoneProtocol | undefined, agency: string): Entitlement {
  const party = protocol?.current.parties.find((p) => p.agency === agency);
  const grants = new Map<Category, string[]>();
  for (const [consentId, consent] of state.consents) {
    if (consent.status !== 'active') continue;
    for (const grant of consent.grants) {
      if (grant.agency !== agency) continue;
      for (const category of grant.categories) grants.set(category, [...(grants.get(category) ?? []), consentId]);
    }
  }
  return {
    agency,
    exists: existsFor(state, protocol, agency),
    fullMember: isFullMember(state, protocol, agency),
    referrer: state.referrer === agency,
    // An agency no longer a party of the protocol receives nothing by rule 3.
    receivable: new Set(party?.receivable ?? []),
    consentRequired: new Set(protocol?.current.consentRequired ?? []),
    grants,
    memo: new Map(),
  };
}

/** Rule 3 for a set of categories: the basis that allows it, or null. */
export function memberBasis(ent: Entitlement, categories: readonly Category[]): Basis[] | null {
  if (!ent.fullMember) return null;
  const key = categories.join(' ');
  let basis = ent.memo.get(key);
  if (basis === undefined) {
    basis = rule3(ent, categories);
    ent.memo.set(key, basis);
  }
  return basis;
}

function rule3(ent: Entitlement, categories: readonly Category[]): Basis[] | null {
  const basis: Basis[] = ['full-member'];
  for (const category of categories) {
    if (!ent.receivable.has(category)) return null;
    if (ent.consentRequired.has(category)) {
      const consents = ent.grants.get(category);
      if (!consents?.length) return null;
      for (const id of consents) if (!basis.includes(`consent:${id}`)) basis.push(`consent:${id}`);
    }
  }
  return basis;
}

/** The agency a datum refers to, when the datum is only a reference to an agency. */
function referencedAgency(fact: Fact): string | undefined {
  if (fact.kind !== 'agency-ref' && fact.kind !== 'grant') return undefined;
  return typeof fact.value === 'string' ? fact.value : String((fact.value as { agency: unknown }).agency);
}

/** Why the agency may see this datum, or null if it may not. `none` data go with their item. */
export function factBasis(ent: Entitlement, fact: Fact): Basis[] | null {
  if (!ent.exists) return null;
  if (fact.author === ent.agency) return ['authored'];
  if (referencedAgency(fact) === ent.agency) return ['self-reference'];
  const member = memberBasis(ent, fact.categories);
  if (member) return member;
  if (ent.referrer && !ent.fullMember && fact.kind === 'outcome' && fact.categories.length === 1 && fact.categories[0] === 'common') return ['referrer-feedback'];
  return null;
}

/** Why the agency may see who recorded an entry ("SerD wrote this" is a datum of its own). */
export function authorBasis(ent: Entitlement, facts: CaseFacts, author: string): Basis[] | null {
  if (!ent.exists) return null;
  if (author === ent.agency) return ['authored'];
  return memberBasis(ent, authorCategories(facts, author));
}
