import type { CaseEvent } from '../../events';
import type { CaseFacts } from './case-facts';
import { entitlementOf } from './entitlements';
import { type Disclosure, Disclosed, type Json, look, type Sight } from './sight';

/* GET /v1/cases/{id}/history: one agency's view of a case's entries, one by one. */

export interface HistoryItem {
  position: string;
  type: string;
  at: string;
  agency?: string;
  operator?: string;
  data: Json;
}

/** The history of one case as one agency is shown it. */
export interface AgencyCaseHistory {
  readonly items: HistoryItem[];
  readonly disclosure: Disclosure;
}

/** The case's history as agency A sees it (GET /v1/cases/{id}/history); undefined if the case does not exist for A. */
export function agencyCaseHistory(facts: CaseFacts, agency: string): AgencyCaseHistory | undefined {
  const ent = entitlementOf(facts, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  const shown = new Disclosed();
  const items = historyOf(facts, look(facts, ent), shown);
  return { items, disclosure: shown.result() };
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
