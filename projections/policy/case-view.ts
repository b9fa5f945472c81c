import { type CaseEvent, type Category, MEMBERSHIP_CATEGORY } from '../../events';
import { authorCategories, type CaseFacts, type Fact } from './case-facts';
import { authorBasis, type Basis, type Entitlement, entitlementOf, factBasis } from './entitlements';
import { fullMembers } from './membership';

/** What a response disclosed, for the access trail: categories, why, and whose data. */
export interface Disclosure {
  readonly categories: Category[];
  readonly basis: string[];
  /** Agencies whose recorded data (or attribution) was disclosed: the `of-our-data` scope of their DPO. */
  readonly owners: string[];
}

export type CaseStatus = 'referred' | 'in-charge' | 'plan-active' | 'closed';

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

/** Everything one agency is shown of one case, computed from the ledger alone. */
export interface AgencyCaseView {
  readonly view: CaseView;
  readonly disclosure: Disclosure;
  readonly history: HistoryItem[];
  readonly historyDisclosure: Disclosure;
  /** The names shown in lists, when identity is visible. */
  readonly listName?: { givenName: string; familyName: string };
  readonly listDisclosure: Disclosure;
}

/** Collects what was shown and why, as a view is assembled. */
class Lens {
  private readonly categories = new Set<Category>();
  private readonly basis = new Set<string>();
  private readonly owners = new Set<string>();

  constructor(
    readonly facts: CaseFacts,
    readonly ent: Entitlement,
  ) {}

  sees(fact: Fact): boolean {
    if (!fact.personal) return true;
    const basis = factBasis(this.ent, fact);
    if (!basis || !this.detailOfVisibleConsent(fact)) return false;
    this.record(fact.categories, basis, fact.author);
    return true;
  }

  /**
   * The details of an authorisation (legal basis, dates, purposes) mean nothing without its
   * grants, and on their own would tell that a grant the agency cannot see exists: they go with
   * the grants, shown where at least one grant is.
   */
  private detailOfVisibleConsent(fact: Fact): boolean {
    if (this.facts.entries[fact.entry]!.type !== 'ConsentRecorded' || root(fact) === 'grants' || root(fact) === 'notes') return true;
    return this.facts.byEntry[fact.entry]!.some((f) => root(f) === 'grants' && factBasis(this.ent, f) !== null);
  }

  /** The author of an entry and the operator, when the attribution is visible. */
  author(entry: number): { agency: string; operator: string } | undefined {
    const { agency, operator } = this.facts.entries[entry]!;
    const basis = authorBasis(this.ent, this.facts, agency);
    if (!basis) return undefined;
    this.record(authorCategories(this.facts, agency), basis, agency);
    return { agency, operator };
  }

  /** A reference to an agency that no event recorded (a minimal-team party of the protocol). */
  seesReference(agency: string, categories: readonly Category[], basis: Basis[] | null): boolean {
    if (!basis) return false;
    this.record(categories, basis, undefined);
    return true;
  }

  private record(categories: readonly Category[], basis: readonly string[], owner: string | undefined): void {
    categories.forEach((c) => this.categories.add(c));
    basis.forEach((b) => this.basis.add(b));
    if (owner) this.owners.add(owner);
  }

  disclosure(): Disclosure {
    return { categories: [...this.categories].sort(), basis: [...this.basis].sort(), owners: [...this.owners].sort() };
  }
}

const root = (fact: Fact) => fact.path[0];

function visibleValues(lens: Lens, facts: readonly Fact[], field: string): unknown[] {
  return facts.filter((f) => root(f) === field && lens.sees(f)).map((f) => f.value);
}

function visibleValue(lens: Lens, facts: readonly Fact[], field: string): unknown {
  const fact = facts.find((f) => root(f) === field);
  return fact && lens.sees(fact) ? fact.value : undefined;
}

/** Drops undefined fields and empty arrays: what is not visible is absent, not masked. */
function compact<T extends Json>(obj: T): T {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete obj[key];
  }
  return obj;
}

/** The case status after its entries (API.md "Case statuses"). */
export function caseStatus(entries: CaseFacts['entries']): CaseStatus {
  let status: CaseStatus = 'referred';
  const agreed = new Set<number>();
  const validated = new Set<number>();
  for (const { type, data } of entries) {
    const event = { type, data } as CaseEvent;
    switch (event.type) {
      case 'CaseTakenInCharge':
        if (status === 'referred') status = 'in-charge';
        break;
      case 'PlanRevisionAgreed':
      case 'PlanRevisionValidated':
        (event.type === 'PlanRevisionAgreed' ? agreed : validated).add(event.data.planRevision);
        if (status === 'in-charge' && agreed.has(event.data.planRevision) && validated.has(event.data.planRevision)) status = 'plan-active';
        break;
      case 'CaseClosed':
        status = 'closed';
        break;
      case 'CaseReopened':
        status = 'in-charge';
        break;
      default:
        break;
    }
  }
  return status;
}

/** The case as agency A sees it (GET /v1/cases/{id}), or undefined if it does not exist for A. */
export function agencyCaseView(facts: CaseFacts, agency: string): AgencyCaseView | undefined {
  const ent = entitlementOf(facts, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  const lens = new Lens(facts, ent);
  const entries = facts.entries;
  const last = entries[entries.length - 1]!;
  const view: CaseView = {
    caseId: facts.caseId,
    status: caseStatus(entries),
    revision: last.revision,
    openedAt: entries[0]!.at,
    updatedAt: last.at,
  };
  const notes: Json[] = [];
  const consents = new Map<string, Json>();
  const decisions: Json[] = [];
  const revisions = new Map<number, Json>();
  const verifications: Json[] = [];
  const nonCompliance: Json[] = [];
  const outcomes: Json[] = [];
  let closure: Json | undefined;

  entries.forEach((entry, i) => {
    const f = facts.byEntry[i]!;
    const by = () => lens.author(i);
    for (const note of f.filter((x) => root(x) === 'notes' && lens.sees(x))) {
      const author = lens.author(i);
      notes.push(compact({ ...(note.value as Json), at: entry.at, agency: author?.agency, operator: author?.operator, about: entry.type }));
    }
    const event = { type: entry.type, data: entry.data } as CaseEvent;
    switch (event.type) {
      case 'ReferralSubmitted': {
        view.person = visibleValue(lens, f, 'person');
        view.needs = visibleValues(lens, f, 'needs');
        view.programmes = visibleValues(lens, f, 'programmes');
        view.urgency = visibleValue(lens, f, 'urgency');
        view.referrer = by()?.agency;
        break;
      }
      case 'ConsentRecorded': {
        const grants = visibleValues(lens, f, 'grants');
        const base = f.filter((x) => x.personal && !['grants', 'notes'].includes(String(root(x))) && lens.sees(x));
        if (grants.length === 0 && base.length === 0) break;
        const author = by();
        consents.set(event.data.consentId, {
          consentId: event.data.consentId,
          status: 'active',
          grants,
          ...Object.fromEntries(base.map((x) => [String(root(x)), x.value])),
          recordedAt: entry.at,
          recordedBy: author?.agency,
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
      case 'CaseTakenInCharge': {
        view.caseManager = visibleValue(lens, f, 'caseManager');
        view.prevalentNeed = visibleValue(lens, f, 'prevalentNeed');
        view.takenInChargeAt = entry.at;
        break;
      }
      case 'TeamDecisionRecorded': {
        const decision = visibleValue(lens, f, 'decision');
        const participants = visibleValues(lens, f, 'participants');
        if (decision === undefined && participants.length === 0) break;
        decisions.push(compact({ decision, heldOn: visibleValue(lens, f, 'heldOn'), participants, recordedAt: entry.at, recordedBy: by()?.agency }));
        break;
      }
      case 'PlanRevisionDrafted': {
        const objectives = visibleValues(lens, f, 'objectives');
        const interventions = visibleValues(lens, f, 'interventions');
        const commitments = visibleValues(lens, f, 'commitments');
        if (objectives.length + interventions.length + commitments.length === 0) break;
        revisions.set(
          event.data.planRevision,
          compact({ planRevision: event.data.planRevision, status: 'drafted', objectives, interventions, commitments, draftedAt: entry.at, draftedBy: by()?.agency }),
        );
        break;
      }
      case 'PlanRevisionAgreed':
      case 'PlanRevisionValidated': {
        const revision = revisions.get(event.data.planRevision);
        if (!revision) break;
        if (event.type === 'PlanRevisionAgreed') {
          const agreedOn = visibleValue(lens, f, 'agreedOn');
          if (agreedOn !== undefined) revision.agreedOn = agreedOn;
          revision.status = revision.status === 'validated' ? 'validated' : 'agreed';
        } else {
          revision.status = 'validated';
          revision.validatedAt = entry.at;
        }
        break;
      }
      case 'VerificationRecorded': {
        const progress = visibleValues(lens, f, 'progress');
        if (progress.length === 0) break;
        verifications.push(compact({ planRevision: event.data.planRevision, progress, nextDue: visibleValue(lens, f, 'nextDue'), recordedAt: entry.at, recordedBy: by()?.agency }));
        break;
      }
      case 'NonComplianceReported': {
        const commitment = visibleValue(lens, f, 'commitment');
        const author = by();
        if (commitment === undefined && !author) break;
        nonCompliance.push(compact({ commitment, reportedAt: entry.at, reportedBy: author?.agency }));
        break;
      }
      case 'OutcomeRecorded': {
        const codes = visibleValues(lens, f, 'outcomes');
        if (codes.length === 0) break;
        outcomes.push(compact({ outcomes: codes, recordedAt: entry.at, recordedBy: by()?.agency }));
        break;
      }
      case 'CaseClosed': {
        const reason = visibleValue(lens, f, 'reason');
        closure = reason === undefined ? undefined : compact({ reason, closedAt: entry.at, closedBy: by()?.agency });
        break;
      }
      case 'CaseReopened':
        closure = undefined;
        break;
      default:
        break;
    }
  });

  view.members = members(facts, lens);
  view.consents = [...consents.values()].map((c) => compact(c));
  view.decisions = decisions;
  view.plan = revisions.size ? { revisions: [...revisions.values()] } : undefined;
  view.verifications = verifications;
  view.nonCompliance = nonCompliance;
  view.outcomes = outcomes;
  view.closure = view.status === 'closed' ? closure : undefined;
  view.notes = notes;
  compact(view);
  const disclosure = lens.disclosure();

  const history = agencyHistory(facts, ent);
  const list = listName(facts, ent);
  return { view, disclosure, history: history.items, historyDisclosure: history.disclosure, listName: list.name, listDisclosure: list.disclosure };
}

/**
 * The full members the agency may see: itself always (rule 2); the agencies it added (rule 1);
 * the others by rule 3 on their membership category.
 */
function members(facts: CaseFacts, lens: Lens): Json[] {
  const result: Json[] = [];
  const { membership, protocol } = facts;
  for (const agency of fullMembers(membership, protocol)) {
    const tier = membership.team.get(agency) ?? (protocol?.current.parties.find((p) => p.agency === agency)?.minimalEquipe ? 'minimal' : 'case-manager');
    const added = [...facts.facts].reverse().find((f) => facts.entries[f.entry]!.type === 'TeamMemberAdded' && (f.value as { agency: string }).agency === agency);
    let visible: boolean;
    if (added && membership.team.has(agency)) visible = lens.sees(added);
    else {
      const kind = protocol?.kinds.get(agency);
      const categories: Category[] = kind ? [MEMBERSHIP_CATEGORY[kind]] : ['special', 'health', 'judicial'];
      visible = lens.seesReference(agency, categories, agency === lens.ent.agency ? ['self-reference'] : memberOnly(lens.ent, categories));
    }
    if (visible) result.push({ agency, tier });
  }
  return result;
}

function memberOnly(ent: Entitlement, categories: readonly Category[]) {
  return factBasis(ent, { path: [], kind: 'agency-ref', value: '', categories: [...categories], entry: -1, author: '', personal: true });
}

/** GET /v1/cases/{id}/history: entries with anything visible, their data cut to what is. */
export function agencyHistory(facts: CaseFacts, ent: Entitlement): { items: HistoryItem[]; disclosure: Disclosure } {
  const lens = new Lens(facts, ent);
  const items: HistoryItem[] = [];
  const shown = new Set<number>();
  facts.entries.forEach((entry, i) => {
    const f = facts.byEntry[i]!;
    const personal = f.filter((x) => x.personal);
    const visible = personal.filter((x) => lens.sees(x));
    // An entry with personal data shows only if some of it is visible: "SdS added someone to the
    // team" with the someone hidden would tell a health agency joined. An entry without personal
    // data shows if its author is visible; one that acts on another (a withdrawal, an agreement,
    // a validation) shows only if that other is shown.
    if (!dependencyShown(facts, i, shown) || (visible.length === 0 && personal.length > 0)) return;
    const author = lens.author(i);
    if (visible.length === 0 && !author) return;
    shown.add(i);
    const data: Json = {};
    for (const fact of [...f.filter((x) => !x.personal), ...visible]) setAt(data, fact.path, fact.value);
    items.push({ position: entry.position, type: entry.type, at: entry.at, ...(author ? { agency: author.agency, operator: author.operator } : {}), data: compactArrays(data) as Json });
  });
  return { items, disclosure: lens.disclosure() };
}

/** The entry an entry without personal data acts on (the consent withdrawn, the revision validated) must itself be shown. */
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

function listName(facts: CaseFacts, ent: Entitlement): { name?: { givenName: string; familyName: string }; disclosure: Disclosure } {
  const lens = new Lens(facts, ent);
  const person = facts.byEntry[0]?.find((f) => root(f) === 'person');
  if (!person || !lens.sees(person)) return { disclosure: lens.disclosure() };
  const { givenName, familyName } = person.value as { givenName: string; familyName: string };
  return { name: { givenName, familyName }, disclosure: lens.disclosure() };
}

function setAt(target: Json, path: ReadonlyArray<string | number>, value: unknown): void {
  let node: Json | unknown[] = target;
  path.forEach((key, i) => {
    const lastKey = i === path.length - 1;
    const container = node as Record<string | number, unknown>;
    if (lastKey) container[key] = value;
    else {
      container[key] ??= typeof path[i + 1] === 'number' ? [] : {};
      node = container[key] as Json;
    }
  });
}

/** Arrays with gaps (hidden elements) are packed: positions of hidden data are not revealed. */
function compactArrays(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compactArrays);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compactArrays(v)]));
  return value;
}
