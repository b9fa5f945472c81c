import type { CaseSummary } from './case-index';

/**
 * The activity report (API.md "Case reads"): counts per zone by status, programme, need,
 * outcome and month of opening. Any count from 1 to 4 is shown as "<5" (ENTITLEMENTS.md
 * "Aggregates"), so that no figure singles out a person.
 */
export type Count = number | '<5';

export interface ActivityReport {
  readonly from?: string;
  readonly to?: string;
  readonly cases: Count;
  readonly byStatus: Record<string, Count>;
  readonly byProgramme: Record<string, Count>;
  readonly byNeed: Record<string, Count>;
  readonly byOutcome: Record<string, Count>;
  readonly byMonth: Record<string, Count>;
}

export function suppress(n: number): Count {
  return n >= 1 && n <= 4 ? '<5' : n;
}

function tally(into: Map<string, number>, key: string): void {
  into.set(key, (into.get(key) ?? 0) + 1);
}

function shown(counts: Map<string, number>): Record<string, Count> {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, suppress(n)]));
}

/** Cases opened in [from, to] (dates, inclusive), counted. Pure: summaries in, report out. */
export function activityReport(summaries: readonly CaseSummary[], range: { from?: string; to?: string }): ActivityReport {
  const status = new Map<string, number>();
  const programme = new Map<string, number>();
  const need = new Map<string, number>();
  const outcome = new Map<string, number>();
  const month = new Map<string, number>();
  let cases = 0;
  for (const s of summaries) {
    const opened = s.openedAt.slice(0, 10);
    if ((range.from && opened < range.from) || (range.to && opened > range.to)) continue;
    cases++;
    tally(status, s.status);
    tally(month, s.openedAt.slice(0, 7));
    s.programmes.forEach((p) => tally(programme, p));
    s.needs.forEach((n) => tally(need, n));
    new Set(s.outcomes).forEach((o) => tally(outcome, o));
  }
  return {
    ...range,
    cases: suppress(cases),
    byStatus: shown(status),
    byProgramme: shown(programme),
    byNeed: shown(need),
    byOutcome: shown(outcome),
    byMonth: shown(month),
  };
}
