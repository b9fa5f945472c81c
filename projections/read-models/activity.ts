import type { CaseSummary } from './case-index';

/**
 * The activity report (API.md "Case reads", ENTITLEMENTS.md "Aggregates"): counts by status,
 * programme, need, outcome and month of opening, for whole calendar months only. Every count is
 * rounded to the nearest multiple of 5 and any count from 1 to 4 reads "<5"; totals are rounded
 * from the true figure, never summed from rounded cells. So neither one table nor the
 * difference of two tables singles out a person: a window moves by a month at least, and a
 * month's cells move by 5 at least.
 */
export type Count = number | '<5';

export interface ActivityReport {
  /** First and last month counted (YYYY-MM), inclusive. */
  readonly from?: string;
  readonly to?: string;
  readonly cases: Count;
  readonly byStatus: Record<string, Count>;
  readonly byProgramme: Record<string, Count>;
  readonly byNeed: Record<string, Count>;
  readonly byOutcome: Record<string, Count>;
  readonly byMonth: Record<string, Count>;
}

/** 0 stays 0; 1 to 4 read "<5"; anything else is rounded to the nearest multiple of 5. */
export function rounded(n: number): Count {
  if (n === 0) return 0;
  if (n < 5) return '<5';
  return Math.round(n / 5) * 5;
}

function tally(into: Map<string, number>, key: string): void {
  into.set(key, (into.get(key) ?? 0) + 1);
}

function shown(counts: Map<string, number>): Record<string, Count> {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, rounded(n)]));
}

/** Cases opened in the months [from, to] (YYYY-MM, inclusive), counted. Pure: summaries in, report out. */
export function activityReport(summaries: readonly CaseSummary[], range: { from?: string; to?: string }): ActivityReport {
  const status = new Map<string, number>();
  const programme = new Map<string, number>();
  const need = new Map<string, number>();
  const outcome = new Map<string, number>();
  const month = new Map<string, number>();
  let cases = 0;
  for (const s of summaries) {
    const opened = s.openedAt.slice(0, 7);
    if ((range.from && opened < range.from) || (range.to && opened > range.to)) continue;
    cases++;
    tally(status, s.status);
    tally(month, opened);
    new Set(s.programmes).forEach((p) => tally(programme, p));
    new Set(s.needs).forEach((n) => tally(need, n));
    new Set(s.outcomes).forEach((o) => tally(outcome, o));
  }
  return {
    ...range,
    cases: rounded(cases),
    byStatus: shown(status),
    byProgramme: shown(programme),
    byNeed: shown(need),
    byOutcome: shown(outcome),
    byMonth: shown(month),
  };
}
