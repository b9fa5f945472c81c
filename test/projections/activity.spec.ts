import { activityReport, rounded } from '../../projections/read-models/activity';

const summary = (openedAt: string, needs: string[] = ['employment']) => ({ status: 'referred' as const, openedAt, programmes: [], needs, outcomes: [] });

describe('the activity report (ENTITLEMENTS.md "Aggregates")', () => {
  it('rounds every count to the nearest multiple of 5 and reads 1 to 4 as "<5"', () => {
    expect([0, 1, 4, 5, 7, 8, 12, 13, 102].map(rounded)).toEqual([0, '<5', '<5', 5, 5, 10, 10, 15, 100]);
  });

  it('rounds the total from the true figure, not from the rounded cells', () => {
    const summaries = [...Array.from({ length: 3 }, () => summary('2025-01-10T00:00:00Z')), ...Array.from({ length: 3 }, () => summary('2025-02-10T00:00:00Z'))];
    const report = activityReport(summaries, {});
    expect(report.byMonth).toEqual({ '2025-01': '<5', '2025-02': '<5' });
    expect(report.cases).toBe(5);
  });

  it('counts whole months: two reports a day apart are the same report', () => {
    const summaries = [summary('2025-03-01T08:00:00Z'), summary('2025-03-31T22:00:00Z', ['addiction']), ...Array.from({ length: 9 }, () => summary('2025-03-15T00:00:00Z'))];
    expect(activityReport(summaries, { from: '2025-03', to: '2025-03' }).byNeed).toEqual({ addiction: '<5', employment: 10 });
    expect(activityReport(summaries, { from: '2025-04', to: '2025-04' }).cases).toBe(0);
  });

  it('does not let the difference of two tables single out a person', () => {
    const base = Array.from({ length: 11 }, () => summary('2025-05-02T00:00:00Z'));
    const oneMore = [...base, summary('2025-05-03T00:00:00Z', ['addiction', 'employment'])];
    expect(activityReport(oneMore, {}).byNeed.employment).toBe(activityReport(base, {}).byNeed.employment);
  });
});
