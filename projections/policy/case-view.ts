import { type CaseEvent, type Category, MEMBERSHIP_CATEGORY } from '../../events';
import { authorCategories, type CaseFacts, type Fact } from './case-facts';
import { authorBasis, type Basis, type Entitlement, entitlementOf, factBasis, memberBasis } from './entitlements';
import type { CaseStatus } from '../../events/case-state';
import { fullMembers } from '../../events/case-membership';

/** What a response disclosed, for the access trail: categories, why, and whose data. */
export interface Disclosure {
  readonly categories: Category[];
  readonly basis: string[];
  /** Agencies whose recorded data (or attribution) was disclosed: the `of-our-data` scope of their DPO. */
  readonly owners: string[];
}

type Json = Record<string, unknown>;

export interface CaseView extends Json {
  caseId: string;
  status: CaseStatus;
  revision: number;
  openedAt: string;
  updatedAt: string;
}

export interface HistoryItem {
  position: string;
  type: string;
  at: string;
  agency?: string;
  operator?: string;
  data: Json;
}

/** What one agency is shown of one case (its view and its list entry), computed from the ledger alone. */
export interface AgencyCaseView {
  readonly view: CaseView;
  readonly disclosure: Disclosure;
  /** The names shown in lists, when identity is visible. */
  readonly listName?: { givenName: string; familyName: string };
  readonly listDisclosure: Disclosure;
}

/** The history of one case as one agency is shown it. */
export interface AgencyCaseHistory {
  readonly items: HistoryItem[];
  readonly disclosure: Disclosure;
}

/** A visible datum and why it is visible. */
interface Seen {
  readonly fact: Fact;
  readonly basis: readonly Basis[];
}

/** What one agency sees of one entry, decided once and used for the view, the history and the list. */
interface Sight {
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
function look(facts: CaseFacts, ent: Entitlement): Sight[] {
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
class Disclosed {
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
function compact<T extends Json>(obj: T): T {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete obj[key];
  }
  return obj;
}

/** The case as agency A sees it (GET /v1/cases/{id}) and its list entry; undefined if it does not exist for A. */
export function agencyCaseView(facts: CaseFacts, agency: string): AgencyCaseView | undefined {
  const ent = entitlementOf(facts, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  const sights = look(facts, ent);
  const view = new Disclosed();
  const list = new Disclosed();
  const person = sights[0]?.fields.get('person')?.[0];
  const listName = person && (list.fact(person) as { givenName: string; familyName: string });
  return {
    view: caseView(facts, ent, sights, view),
    disclosure: view.result(),
    ...(listName ? { listName: { givenName: listName.givenName, familyName: listName.familyName } } : {}),
    listDisclosure: list.result(),
  };
}

/** The case's history as agency A sees it (GET /v1/cases/{id}/history); undefined if the case does not exist for A. */
export function agencyCaseHistory(facts: CaseFacts, agency: string): AgencyCaseHistory | undefined {
  const ent = entitlementOf(facts, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  const shown = new Disclosed();
  const items = historyOf(facts, look(facts, ent), shown);
  return { items, disclosure: shown.result() };
}

function caseView(facts: CaseFacts, ent: Entitlement, sights: readonly Sight[], shown: Disclosed): CaseView {
  const entries = facts.entries;
  const last = entries[entries.length - 1]!;
  const view: CaseView = { caseId: facts.caseId, status: facts.state.status, revision: last.revision, openedAt: entries[0]!.at, updatedAt: last.at };
  const notes: Json[] = [];
  const consents = new Map<string, Json>();
  const decisions: Json[] = [];
  const revisions = new Map<number, Json>();
  const verifications: Json[] = [];
  const nonCompliance: Json[] = [];
  const outcomes: Json[] = [];
  let closure: Json | undefined;

  entries.forEach((entry, i) => {
    const sight = sights[i]!;
    const noteFacts = sight.fields.get('notes');
    if (noteFacts) {
      const author = shown.author(sight);
      for (const note of noteFacts) notes.push(compact({ ...(shown.fact(note) as Json), at: entry.at, agency: author?.agency, operator: author?.operator, about: entry.type }));
    }
    const by = () => shown.author(sight)?.agency;
    const has = (...fields: string[]) => fields.some((f) => sight.fields.has(f));
    const event = { type: entry.type, data: entry.data } as CaseEvent;
    switch (event.type) {
      case 'ReferralSubmitted':
        view.person = shown.value(sight, 'person');
        view.needs = shown.values(sight, 'needs');
        view.programmes = shown.values(sight, 'programmes');
        view.urgency = shown.value(sight, 'urgency');
        view.referrer = by();
        break;
      case 'ConsentRecorded': {
        if (!has('grants')) break;
        const details = Object.fromEntries(
          [...sight.fields.entries()].filter(([field]) => field !== 'grants' && field !== 'notes' && field !== 'consentId').map(([field, seen]) => [field, shown.fact(seen[0]!)]),
        );
        consents.set(event.data.consentId, {
          consentId: event.data.consentId,
          status: 'active',
          grants: shown.values(sight, 'grants'),
          ...details,
          recordedAt: entry.at,
          recordedBy: by(),
        });
        break;
      }
      case 'ConsentWithdrawn':
      case 'ConsentExpired': {
        const consent = consents.get(event.data.consentId);
        if (consent && consent.status === 'active') {
          consent.status = event.type === 'ConsentWithdrawn' ? 'withdrawn' : 'expired';
          consent[event.type === 'ConsentWithdrawn' ? 'withdrawnAt' : 'expiredAt'] = entry.at;
        }
        break;
      }
      case 'CaseTakenInCharge':
        view.caseManager = shown.value(sight, 'caseManager');
        view.prevalentNeed = shown.value(sight, 'prevalentNeed');
        view.takenInChargeAt = entry.at;
        break;
      case 'TeamDecisionRecorded':
        if (!has('decision', 'participants')) break;
        decisions.push(
          compact({ decision: shown.value(sight, 'decision'), heldOn: shown.value(sight, 'heldOn'), participants: shown.values(sight, 'participants'), recordedAt: entry.at, recordedBy: by() }),
        );
        break;
      case 'PlanRevisionDrafted':
        if (!has('objectives', 'interventions', 'commitments')) break;
        revisions.set(
          event.data.planRevision,
          compact({
            planRevision: event.data.planRevision,
            status: 'drafted',
            objectives: shown.values(sight, 'objectives'),
            interventions: shown.values(sight, 'interventions'),
            commitments: shown.values(sight, 'commitments'),
            draftedAt: entry.at,
            draftedBy: by(),
          }),
        );
        break;
      case 'PlanRevisionAgreed':
      case 'PlanRevisionValidated': {
        const revision = revisions.get(event.data.planRevision);
        if (!revision) break;
        if (event.type === 'PlanRevisionAgreed') {
          const agreedOn = shown.value(sight, 'agreedOn');
          if (agreedOn !== undefined) revision.agreedOn = agreedOn;
          revision.status = revision.status === 'validated' ? 'validated' : 'agreed';
        } else {
          revision.status = 'validated';
          revision.validatedAt = entry.at;
        }
        break;
      }
      case 'VerificationRecorded':
        if (!has('progress')) break;
        verifications.push(compact({ planRevision: event.data.planRevision, progress: shown.values(sight, 'progress'), nextDue: shown.value(sight, 'nextDue'), recordedAt: entry.at, recordedBy: by() }));
        break;
      case 'NonComplianceReported': {
        const commitment = shown.value(sight, 'commitment');
        const reportedBy = by();
        if (commitment === undefined && !reportedBy) break;
        nonCompliance.push(compact({ commitment, reportedAt: entry.at, reportedBy }));
        break;
      }
      case 'OutcomeRecorded':
        if (!has('outcomes')) break;
        outcomes.push(compact({ outcomes: shown.values(sight, 'outcomes'), recordedAt: entry.at, recordedBy: by() }));
        break;
      case 'CaseClosed':
        closure = has('reason') ? compact({ reason: shown.value(sight, 'reason'), closedAt: entry.at, closedBy: by() }) : undefined;
        break;
      case 'CaseReopened':
        closure = undefined;
        break;
      default:
        break;
    }
  });

  view.members = members(facts, ent, sights, shown);
  view.consents = [...consents.values()].map((c) => compact(c));
  view.decisions = decisions;
  view.plan = revisions.size ? { revisions: [...revisions.values()] } : undefined;
  view.verifications = verifications;
  view.nonCompliance = nonCompliance;
  view.outcomes = outcomes;
  view.closure = view.status === 'closed' ? closure : undefined;
  view.notes = notes;
  return compact(view);
}

/**
 * The full members the agency may see: itself always (rule 2); those whose latest addition it
 * may see (rule 1 for the agency that added them, rule 3 otherwise); the minimal team and the
 * case manager's agency by rule 3 on their membership category.
 */
function members(facts: CaseFacts, ent: Entitlement, sights: readonly Sight[], shown: Disclosed): Json[] {
  const { state: membership, protocol } = facts;
  const added = new Map<string, { entry: number }>();
  facts.entries.forEach((entry, i) => {
    if (entry.type === 'TeamMemberAdded') added.set((entry.data as { member: { agency: string } }).member.agency, { entry: i });
  });
  const result: Json[] = [];
  for (const agency of fullMembers(membership, protocol)) {
    const onTeam = membership.team.get(agency);
    const tier = onTeam ?? (protocol?.current.parties.find((p) => p.agency === agency)?.minimalEquipe ? 'minimal' : 'case-manager');
    let visible = false;
    const addition = onTeam ? added.get(agency) : undefined;
    if (addition) {
      const seen = sights[addition.entry]!.fields.get('member')?.[0];
      if (seen) {
        shown.fact(seen);
        visible = true;
      }
    } else {
      const kind = protocol?.kinds.get(agency);
      const categories: Category[] = kind ? [MEMBERSHIP_CATEGORY[kind]] : ['special', 'health', 'judicial'];
      const basis = agency === ent.agency ? (['self-reference'] as Basis[]) : memberBasis(ent, categories);
      if (basis) {
        shown.add(categories, basis, undefined);
        visible = true;
      }
    }
    if (visible) result.push({ agency, tier });
  }
  return result;
}

/**
 * GET /v1/cases/{id}/history: the entries with anything visible, their data cut to what is.
 * An entry with personal data shows only if some of it is visible: "SdS added someone to the
 * team" with the someone hidden would tell that a health agency joined. An entry without
 * personal data shows if its author is visible; one that acts on another (a withdrawal, an
 * agreement, a validation) shows only if that other is shown.
 */
function historyOf(facts: CaseFacts, sights: readonly Sight[], shown: Disclosed): HistoryItem[] {
  const items: HistoryItem[] = [];
  const shownEntries = new Set<number>();
  facts.entries.forEach((entry, i) => {
    const sight = sights[i]!;
    if (!dependencyShown(facts, i, shownEntries)) return;
    if (sight.visiblePersonal === 0 && (sight.personal > 0 || !sight.author)) return;
    shownEntries.add(i);
    const author = shown.author(sight);
    const data: Json = {};
    for (const [field, seen] of sight.fields) {
      // Arrays are packed: the positions of hidden elements are not revealed.
      const path0 = seen[0]!.fact.path;
      data[field] = path0.length > 1 ? seen.map((s) => shown.fact(s)) : shown.fact(seen[0]!);
    }
    items.push({ position: entry.position, type: entry.type, at: entry.at, ...(author ? { agency: author.agency, operator: author.operator } : {}), data });
  });
  return items;
}

/** The entry an entry acts on (the consent withdrawn, the revision agreed or validated) must itself be shown. */
function dependencyShown(facts: CaseFacts, index: number, shown: ReadonlySet<number>): boolean {
  const event = { type: facts.entries[index]!.type, data: facts.entries[index]!.data } as CaseEvent;
  const target = (predicate: (e: CaseEvent) => boolean) => {
    for (let i = index - 1; i >= 0; i--) if (predicate({ type: facts.entries[i]!.type, data: facts.entries[i]!.data } as CaseEvent)) return shown.has(i);
    return false;
  };
  switch (event.type) {
    case 'ConsentWithdrawn':
    case 'ConsentExpired':
      return target((e) => e.type === 'ConsentRecorded' && e.data.consentId === event.data.consentId);
    case 'PlanRevisionAgreed':
    case 'PlanRevisionValidated':
      return target((e) => e.type === 'PlanRevisionDrafted' && e.data.planRevision === event.data.planRevision);
    default:
      return true;
  }
}
