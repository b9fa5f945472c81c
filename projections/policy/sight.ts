import type { CaseEvent, CaseEventType, Category } from '../../events';
import { authorCategories, type CaseFacts, type Fact } from './case-facts';
import { authorBasis, type Basis, type Entitlement, factBasis, memberBasis } from './entitlements';
import { merged, setOwn } from './merge';

/*
 * What each entry of a case discloses to one agency: which of its data, which attribution, and
 * why (the rules are in entitlements.ts). Decided once per entry and read by the view
 * (case-view.ts), the list entry and the history (case-history.ts), so the three cannot disagree.
 */

/** What a response disclosed, for the access trail: categories, why, and whose data. */
export interface Disclosure {
  readonly categories: Category[];
  readonly basis: string[];
  /** Agencies whose recorded data (or attribution) was disclosed, each with what of its own data: the `of-our-data` scope of their DPO. */
  readonly owners: Array<{ agency: string; categories: Category[]; basis: string[] }>;
}

export type Json = Record<string, unknown>;

/** A visible datum and why it is visible. */
export interface Seen {
  readonly fact: Fact;
  readonly basis: readonly Basis[];
}

/** What one agency sees of one entry, decided once and used for the view, the history and the list. */
export interface Sight {
  /** Visible data, personal or not, by top-level field. */
  readonly fields: Map<string | number, Seen[]>;
  readonly personal: number;
  readonly visiblePersonal: number;
  /**
   * The entry's own subject is visible, and so its type (ENTITLEMENTS.md "An entry's type is a
   * datum of that entry"). An entry whose subject is hidden shows at most its visible notes, as
   * a note recorded on its own would show them.
   */
  readonly subject: boolean;
  readonly author?: { agency: string; operator: string; basis: readonly Basis[]; categories: readonly Category[] };
}

const NOT_PERSONAL: readonly Basis[] = [];

/**
 * Decides, entry by entry, which data and which author attributions the agency may see (the
 * rules are in entitlements.ts). One special case: the details of an authorisation (legal
 * basis, dates, purposes) go with its grants, shown where at least one grant is; alone they
 * would tell that a grant the agency cannot see exists.
 */
export function look(facts: CaseFacts, ent: Entitlement): Sight[] {
  const common = memberBasis(ent, ['common']) !== null;
  const sights = facts.entries.map((entry, i) => {
    const all = facts.byEntry[i]!;
    const fields = new Map<string | number, Seen[]>();
    let personal = 0;
    let visiblePersonal = 0;
    let grantsVisible: boolean | undefined;
    for (const fact of all) {
      let basis: readonly Basis[] | null = NOT_PERSONAL;
      if (fact.personal) {
        personal++;
        basis = factBasis(ent, fact);
        if (basis && entry.type === 'ConsentRecorded' && fact.path[0] !== 'grants' && fact.path[0] !== 'notes') {
          grantsVisible ??= all.some((f) => f.path[0] === 'grants' && factBasis(ent, f) !== null);
          if (!grantsVisible) basis = null;
        }
        if (!basis) continue;
        visiblePersonal++;
      }
      const key = fact.path[0]!;
      const list = fields.get(key);
      if (list) list.push({ fact, basis });
      else fields.set(key, [{ fact, basis }]);
    }
    const basis = authorBasis(ent, facts, entry.agency);
    const author = basis ? { agency: entry.agency, operator: entry.operator, basis, categories: authorCategories(facts, entry.agency) } : undefined;
    const about = SUBJECT[entry.type];
    const subject = about === 'course' ? entry.agency === ent.agency || common : about.some((field) => fields.has(field));
    return { fields, personal, visiblePersonal, author, subject };
  });
  // An entry that acts on another (a withdrawal, an agreement) is about that other: shown only where it is.
  return sights.map((sight, i) => {
    const target = actsOn(facts, i);
    if (target === undefined || !sight.subject) return sight;
    return target >= 0 && sights[target]!.subject ? sight : merged(sight, { subject: false });
  });
}

/**
 * What each entry is about: the fields whose visibility makes the entry's type visible, or
 * `course` for a step of the case's course (its status, a team decision), a common fact seen by
 * whoever sees the case's common data and by its author.
 */
const SUBJECT: { readonly [T in CaseEventType]: readonly string[] | 'course' } = {
  ReferralSubmitted: 'course',
  ConsentRecorded: ['grants'],
  ConsentWithdrawn: ['consentId'],
  ConsentExpired: ['consentId'],
  CaseTakenInCharge: 'course',
  TeamMemberAdded: ['member'],
  TeamMemberRemoved: ['agency'],
  TeamDecisionRecorded: ['decision'],
  PlanRevisionDrafted: ['planRevision'],
  PlanRevisionAgreed: ['planRevision'],
  PlanRevisionValidated: ['planRevision'],
  VerificationRecorded: ['progress'],
  NonComplianceReported: 'course',
  OutcomeRecorded: ['outcomes'],
  NoteRecorded: ['notes'],
  CaseClosed: ['reason'],
  CaseReopened: 'course',
};

/** The entry an entry acts on: the consent withdrawn or expired, the plan revision agreed or validated. */
function actsOn(facts: CaseFacts, index: number): number | undefined {
  const event = { type: facts.entries[index]!.type, data: facts.entries[index]!.data } as CaseEvent;
  const find = (predicate: (e: CaseEvent) => boolean) => {
    for (let i = index - 1; i >= 0; i--) if (predicate({ type: facts.entries[i]!.type, data: facts.entries[i]!.data } as CaseEvent)) return i;
    return -1;
  };
  switch (event.type) {
    case 'ConsentWithdrawn':
    case 'ConsentExpired':
      return find((e) => e.type === 'ConsentRecorded' && e.data.consentId === event.data.consentId);
    case 'PlanRevisionAgreed':
    case 'PlanRevisionValidated':
      return find((e) => e.type === 'PlanRevisionDrafted' && e.data.planRevision === event.data.planRevision);
    default:
      return undefined;
  }
}

/** Collects what an output showed and why, as it is assembled. */
export class Disclosed {
  private readonly categories = new Set<Category>();
  private readonly basis = new Set<string>();
  private readonly owners = new Map<string, { categories: Set<Category>; basis: Set<string> }>();

  fact(seen: Seen): unknown {
    if (seen.fact.personal) this.add(seen.fact.categories, seen.basis, seen.fact.author);
    return seen.fact.value;
  }

  values(sight: Sight, field: string): unknown[] {
    return (sight.fields.get(field) ?? []).map((s) => this.fact(s));
  }

  value(sight: Sight, field: string): unknown {
    const seen = sight.fields.get(field)?.[0];
    return seen === undefined ? undefined : this.fact(seen);
  }

  author(sight: Sight): { agency: string; operator: string } | undefined {
    const author = sight.author;
    if (!author) return undefined;
    this.add(author.categories, author.basis, author.agency);
    return { agency: author.agency, operator: author.operator };
  }

  add(categories: readonly Category[], basis: readonly string[], owner: string | undefined): void {
    for (const c of categories) this.categories.add(c);
    for (const b of basis) this.basis.add(b);
    if (!owner) return;
    let own = this.owners.get(owner);
    if (!own) this.owners.set(owner, (own = { categories: new Set(), basis: new Set() }));
    for (const c of categories) own.categories.add(c);
    for (const b of basis) own.basis.add(b);
  }

  result(): Disclosure {
    const owners = [...this.owners.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      categories: [...this.categories].sort(),
      basis: [...this.basis].sort(),
      owners: owners.map(([agency, own]) => ({ agency, categories: [...own.categories].sort(), basis: [...own.basis].sort() })),
    };
  }
}

/** Drops undefined fields and empty arrays: what is not visible is absent, not masked. */
export function compact<T extends Json>(obj: T): T {
  // A new object rather than `delete` on this one: deleting turns an object into a slow
  // dictionary (slower to build, and to stringify when the view is stored). Same keys, same order.
  const out: Json = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    setOwn(out, key, v);
  }
  return out as T;
}
