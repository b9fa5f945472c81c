import type { Category } from '../../events';
import { authorCategories, type CaseFacts, type Fact } from './case-facts';
import { authorBasis, type Basis, type Entitlement, factBasis } from './entitlements';

/*
 * What each entry of a case discloses to one agency: which of its data, which attribution, and
 * why (the rules are in entitlements.ts). Decided once per entry and read by the view
 * (case-view.ts), the list entry and the history (case-history.ts), so the three cannot disagree.
 */

/** What a response disclosed, for the access trail: categories, why, and whose data. */
export interface Disclosure {
  readonly categories: Category[];
  readonly basis: string[];
  /** Agencies whose recorded data (or attribution) was disclosed: the `of-our-data` scope of their DPO. */
  readonly owners: string[];
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
  return facts.entries.map((entry, i) => {
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
    return { fields, personal, visiblePersonal, author };
  });
}

/** Collects what an output showed and why, as it is assembled. */
export class Disclosed {
  private readonly categories = new Set<Category>();
  private readonly basis = new Set<string>();
  private readonly owners = new Set<string>();

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
    if (owner) this.owners.add(owner);
  }

  result(): Disclosure {
    return { categories: [...this.categories].sort(), basis: [...this.basis].sort(), owners: [...this.owners].sort() };
  }
}

/** Drops undefined fields and empty arrays: what is not visible is absent, not masked. */
export function compact<T extends Json>(obj: T): T {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete obj[key];
  }
  return obj;
}
