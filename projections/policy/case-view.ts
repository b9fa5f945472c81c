import { type CaseEvent, type CaseStatus, type Category, MEMBERSHIP_CATEGORY, partyOf } from '../../events';
import type { CaseFacts } from './case-facts';
import { merged } from './merge';
import { type Basis, type Entitlement, entitlementOf, memberBasis } from './entitlements';
import { compact, type Disclosure, Disclosed, type Json, look, type Sight } from './sight';

/* GET /v1/cases/{id} and the list entry: the shape of one agency's view of a case. */

export interface CaseView extends Json {
  caseId: string;
  status: CaseStatus;
  revision: number;
  openedAt: string;
  updatedAt: string;
  /** The case's person was erased: every personal datum is gone from the view. */
  erased?: boolean;
}

/** What one agency is shown of one case (its view and its list entry), computed from the ledger alone. */
export interface AgencyCaseView {
  readonly view: CaseView;
  readonly disclosure: Disclosure;
  /** The names shown in lists, when identity is visible. */
  readonly listName?: { givenName: string; familyName: string };
  readonly listDisclosure: Disclosure;
}

/** The case as agency A sees it (GET /v1/cases/{id}) and its list entry; undefined if it does not exist for A. */
export function agencyCaseView(facts: CaseFacts, agency: string): AgencyCaseView | undefined {
  const ent = entitlementOf(facts.state, facts.protocol, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  if (facts.state.erased) return erasedView(facts);
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
      // A note says what it is about only where that is visible: on a hidden entry it reads as a note recorded on its own.
      const about = sight.subject && entry.type !== 'NoteRecorded' ? entry.type : undefined;
      for (const note of noteFacts) notes.push(compact(merged(shown.fact(note) as Json, { at: entry.at, agency: author?.agency, operator: author?.operator, about })));
    }
    if (!sight.subject) return;
    const by = () => shown.author(sight)?.agency;
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
        // Single fields one fact each; the purposes are a list, each one a fact of its own category.
        const details = Object.fromEntries(
          [...sight.fields.entries()]
            .filter(([field]) => field !== 'grants' && field !== 'notes' && field !== 'consentId' && field !== 'purposes')
            .map(([field, seen]) => [field, shown.fact(seen[0]!)]),
        );
        const purposes = shown.values(sight, 'purposes');
        consents.set(
          event.data.consentId,
          merged(merged({ consentId: event.data.consentId, status: 'active', grants: shown.values(sight, 'grants'), ...(purposes.length > 0 ? { purposes } : {}) }, details), {
            recordedAt: entry.at,
            recordedBy: by(),
          }),
        );
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
        decisions.push(
          compact({
            decision: shown.value(sight, 'decision'),
            heldOn: shown.value(sight, 'heldOn'),
            participants: shown.values(sight, 'participants'),
            recordedAt: entry.at,
            recordedBy: by(),
          }),
        );
        break;
      case 'PlanRevisionDrafted':
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
        verifications.push(
          compact({
            planRevision: event.data.planRevision,
            progress: shown.values(sight, 'progress'),
            nextDue: shown.value(sight, 'nextDue'),
            recordedAt: entry.at,
            recordedBy: by(),
          }),
        );
        break;
      case 'NonComplianceReported': {
        nonCompliance.push(compact({ commitment: shown.value(sight, 'commitment'), reportedAt: entry.at, reportedBy: by() }));
        break;
      }
      case 'OutcomeRecorded':
        outcomes.push(compact({ outcomes: shown.values(sight, 'outcomes'), recordedAt: entry.at, recordedBy: by() }));
        break;
      case 'CaseClosed':
        closure = compact({ reason: shown.value(sight, 'reason'), closedAt: entry.at, closedBy: by() });
        break;
      case 'CaseReopened':
        closure = undefined;
        break;
      case 'TeamMemberAdded':
      case 'TeamMemberRemoved':
        // The team is shown as it is now, member by member (members() below).
        break;
      case 'NoteRecorded':
        // Its notes are collected above, like every entry's.
        break;
      default:
        // Exhaustive: an event type added to the catalogue does not compile until its place in the view is decided.
        return unreachable(event);
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
 * The full members the agency may see: itself always (rule 2); an agency on the team as the
 * agency may see the team, that is where the last team entry about it the agency may see is an
 * addition (rule 1 for the agency that added it, rule 3 otherwise), so that a removal or a
 * re-addition it may not see changes nothing it is shown (ENTITLEMENTS.md "Nothing leaks through
 * the side"); the minimal team and the case manager's agency by rule 3 on their membership
 * category.
 */
function members(facts: CaseFacts, ent: Entitlement, sights: readonly Sight[], shown: Disclosed): Json[] {
  const { state: membership, protocol } = facts;
  const team = new Map<string, { tier: string; seen: Parameters<Disclosed['fact']>[0] } | undefined>();
  facts.entries.forEach((entry, i) => {
    if (entry.type === 'TeamMemberAdded') {
      const seen = sights[i]!.fields.get('member')?.[0];
      const member = (entry.data as { member: { agency: string; tier: string } }).member;
      if (seen) team.set(member.agency, { tier: member.tier, seen });
    } else if (entry.type === 'TeamMemberRemoved' && sights[i]!.fields.get('agency')?.[0]) {
      team.set((entry.data as { agency: string }).agency, undefined);
    }
  });
  const result: Json[] = [];
  // In an order the agency sees: the minimal team in the protocol's order, then the team in the
  // order of the additions it sees, then the case manager's agency. Not the case's own team order:
  // a removal or a re-addition it may not see would move an agency it is shown.
  const minimalTeam = (protocol?.current.parties ?? []).filter((p) => p.minimalEquipe).map((p) => p.agency);
  const caseManager = membership.caseManagerAgency ? [membership.caseManagerAgency] : [];
  for (const agency of new Set([...minimalTeam, ...team.keys(), ...caseManager])) {
    const onTeam = team.get(agency);
    if (onTeam) {
      shown.fact(onTeam.seen);
      result.push({ agency, tier: onTeam.tier });
      continue;
    }
    const minimal = partyOf(protocol, agency)?.minimalEquipe ?? false;
    if (!minimal && membership.caseManagerAgency !== agency) continue;
    const kind = protocol?.kinds.get(agency);
    const categories: Category[] = kind ? [MEMBERSHIP_CATEGORY[kind]] : ['special', 'health', 'judicial'];
    const basis = agency === ent.agency ? (['self-reference'] as Basis[]) : memberBasis(ent, categories);
    if (!basis) continue;
    shown.add(categories, basis, undefined);
    result.push({ agency, tier: minimal ? 'minimal' : 'case-manager' });
  }
  return result;
}

function unreachable(event: never): never {
  throw new Error(`no place in the view for ${(event as CaseEvent).type}`);
}

/**
 * The view of a case whose person was erased (API.md "Erasure"): its id, status and dates, and
 * an explicit marker in place of every personal datum, for every agency the case still exists
 * for. Nothing of the person is left to show, nor to record as disclosed.
 */
function erasedView(facts: CaseFacts): AgencyCaseView {
  const entries = facts.entries;
  const last = entries[entries.length - 1]!;
  const none = { categories: [], basis: [], owners: [] };
  return {
    view: { caseId: facts.caseId, status: facts.state.status, revision: last.revision, openedAt: entries[0]!.at, updatedAt: last.at, erased: true },
    disclosure: none,
    listDisclosure: none,
  };
}
