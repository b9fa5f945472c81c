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
  readonly erased?: boolean;
}

/** The case's history as agency A sees it (GET /v1/cases/{id}/history); undefined if the case does not exist for A. */
export function agencyCaseHistory(facts: CaseFacts, agency: string): AgencyCaseHistory | undefined {
  const ent = entitlementOf(facts.state, facts.protocol, agency);
  if (!ent.exists || facts.entries.length === 0) return undefined;
  // An erased case has no history to show: every entry was the person's data.
  if (facts.state.erased) return { items: [], disclosure: { categories: [], basis: [], owners: [] }, erased: true };
  const shown = new Disclosed();
  const items = historyOf(facts, look(facts, ent), shown);
  return { items, disclosure: shown.result() };
}

/**
 * GET /v1/cases/{id}/history: the entries whose subject the agency may see, their data cut to
 * what is visible (arrays packed: the positions of hidden elements are not revealed). An entry
 * whose subject is hidden — "SdS added someone to the team", an outcome code, a grant — shows
 * only the notes it carries that the agency may see, exactly as a NoteRecorded would: no type,
 * no link to what it was about (ENTITLEMENTS.md "Nothing leaks through the side").
 */
function historyOf(facts: CaseFacts, sights: readonly Sight[], shown: Disclosed): HistoryItem[] {
  const items: HistoryItem[] = [];
  facts.entries.forEach((entry, i) => {
    const sight = sights[i]!;
    const notes = sight.fields.get('notes');
    if (!sight.subject && !notes) return;
    const author = shown.author(sight);
    const data: Json = {};
    for (const [field, seen] of sight.fields) {
      if (!sight.subject && field !== 'notes') continue;
      const path0 = seen[0]!.fact.path;
      data[field] = path0.length > 1 ? seen.map((s) => shown.fact(s)) : shown.fact(seen[0]!);
    }
    const type = sight.subject ? entry.type : 'NoteRecorded';
    items.push({ position: entry.position, type, at: entry.at, ...(author ? { agency: author.agency, operator: author.operator } : {}), data });
  });
  return items;
}
