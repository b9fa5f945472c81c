import type Database from 'better-sqlite3';
import type { CaseSealer, CaseStatus } from '../../events';
import type { CaseFacts } from '../policy';
import { HeldWrites } from './held-writes';

/**
 * Zone-level facts about cases that are not any agency's view: the case summary behind the
 * activity report (counts only, never rows), the index of each person's cases behind the DPO's
 * per-person report, the authorisations that will expire, and when each case closed (for
 * retention). The person is named by a keyed pseudonym (the key store's HMAC), never by a hash
 * anyone could compute from a fiscal code; the counted codes (needs, programmes, outcomes)
 * reveal health facts and are sealed under the case's person's data key.
 */
export interface CaseSummary {
  readonly status: CaseStatus;
  readonly openedAt: string;
  readonly programmes: readonly string[];
  readonly needs: readonly string[];
  readonly outcomes: readonly string[];
}

type Codes = Pick<CaseSummary, 'programmes' | 'needs' | 'outcomes'>;
const NO_CODES: Codes = { programmes: [], needs: [], outcomes: [] };

export class CaseIndex {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly sealer: CaseSealer,
    private readonly writes: HeldWrites = new HeldWrites(sealer),
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS case_summary (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL, closed_at TEXT,
        codes BLOB NOT NULL,
        PRIMARY KEY (zone, case_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS case_summary_closed ON case_summary (closed_at) WHERE closed_at IS NOT NULL;
      CREATE TABLE IF NOT EXISTS person_cases (
        zone TEXT NOT NULL, person_key TEXT NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (zone, person_key, case_id)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS consent_deadlines (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, consent_id TEXT NOT NULL, valid_until TEXT NOT NULL,
        PRIMARY KEY (zone, case_id, consent_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS consent_deadlines_due ON consent_deadlines (valid_until);
    `);
    this.s = {
      summary: db.prepare<[string, string, string, string, string | null, Uint8Array | string]>(
        'INSERT OR REPLACE INTO case_summary (zone, case_id, status, opened_at, closed_at, codes) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      person: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO person_cases (zone, person_key, case_id) VALUES (?, ?, ?)'),
      casesOf: db.prepare<[string, string], { case_id: string }>('SELECT case_id FROM person_cases WHERE zone = ? AND person_key = ?'),
      forgetPerson: db.prepare<[string, string]>('DELETE FROM person_cases WHERE zone = ? AND person_key = ?'),
      clearDeadlines: db.prepare<[string, string]>('DELETE FROM consent_deadlines WHERE zone = ? AND case_id = ?'),
      deadline: db.prepare<[string, string, string, string]>('INSERT OR REPLACE INTO consent_deadlines (zone, case_id, consent_id, valid_until) VALUES (?, ?, ?, ?)'),
      due: db.prepare<[string, number], { zone: string; case_id: string; consent_id: string; valid_until: string }>(
        'SELECT zone, case_id, consent_id, valid_until FROM consent_deadlines WHERE valid_until <= ? ORDER BY valid_until LIMIT ?',
      ),
      anyDue: db.prepare<[string], { due: number }>('SELECT 1 AS due FROM consent_deadlines WHERE valid_until <= ? LIMIT 1'),
      summaries: db.prepare<[string], { case_id: string; status: string; opened_at: string; codes: Uint8Array | string }>(
        'SELECT case_id, status, opened_at, codes FROM case_summary WHERE zone = ?',
      ),
      closedBefore: db.prepare<[string], { zone: string; case_id: string; closed_at: string }>(
        'SELECT zone, case_id, closed_at FROM case_summary WHERE closed_at IS NOT NULL AND closed_at <= ?',
      ),
      closure: db.prepare<[string], { zone: string; status: string; closed_at: string | null }>('SELECT zone, status, closed_at FROM case_summary WHERE case_id = ?'),
    };
  }

  /** Keeps the zone-level facts of one case up to date. Runner only. */
  write(zone: string, facts: CaseFacts, summary: CaseSummary & { closedAt?: string }): void {
    const { caseId, entries } = facts;
    const erased = entries.some((e) => e.erased);
    const put = (codes: Uint8Array | string) => this.s.summary.run(zone, caseId, summary.status, summary.openedAt, summary.closedAt ?? null, codes);
    // An erased case is counted by its status only: its codes were the person's data.
    if (erased) this.writes.plain(() => put(`clear:${JSON.stringify(NO_CODES)}`));
    else this.writes.sealed(caseId, 'codes', JSON.stringify({ programmes: summary.programmes, needs: summary.needs, outcomes: summary.outcomes }), put);
    const referral = entries.find((e) => e.type === 'ReferralSubmitted' && !e.erased);
    if (referral) this.s.person.run(zone, this.sealer.personId((referral.data as { person: { fiscalCode: string } }).person.fiscalCode), caseId);
    this.s.clearDeadlines.run(zone, caseId);
    if (erased) return;
    for (const entry of entries) {
      if (entry.type !== 'ConsentRecorded') continue;
      const { consentId, validUntil } = entry.data as { consentId: string; validUntil?: string };
      if (validUntil && facts.state.consents.get(consentId)?.status === 'active') this.s.deadline.run(zone, caseId, consentId, validUntil);
    }
  }

  casesOfPerson(zone: string, fiscalCode: string): string[] {
    return this.s.casesOf.all(zone, this.sealer.personId(fiscalCode)).map((r) => r.case_id);
  }

  /**
   * Forgets which cases of a zone were a person's (erased: the link from their fiscal code to
   * their cases was their data too). Runner only. The trail keeps its records by case id.
   */
  forgetPerson(zone: string, personKey: string): void {
    this.s.forgetPerson.run(zone, personKey);
  }

  /** Whether any authorisation's validity has passed with no expiry recorded yet (ConsentExpiry looks every second). */
  anyConsentDue(now: string): boolean {
    return this.s.anyDue.get(now) !== undefined;
  }

  /** Authorisations whose validity has passed and that no expiry has been recorded for yet. */
  dueConsents(now: string, limit = 500): Array<{ zone: string; caseId: string; consentId: string }> {
    return this.s.due.all(now, limit).map((r) => ({ zone: r.zone, caseId: r.case_id, consentId: r.consent_id }));
  }

  summaries(zone: string): CaseSummary[] {
    return this.s.summaries.all(zone).map((r) => {
      const codes = this.sealer.open(r.case_id, 'codes', r.codes);
      return { status: r.status as CaseStatus, openedAt: r.opened_at, ...(codes ? (JSON.parse(codes) as Codes) : NO_CODES) };
    });
  }

  /** Cases closed at or before an instant, in every zone (retention). */
  closedBefore(instant: string): Array<{ zone: string; caseId: string; closedAt: string }> {
    return this.s.closedBefore.all(instant).map((r) => ({ zone: r.zone, caseId: r.case_id, closedAt: r.closed_at }));
  }

  /** Whether a case is closed, since when, and in which zone; undefined for a case not indexed. */
  closureOf(caseId: string): { zone: string; closedAt?: string } | undefined {
    const row = this.s.closure.get(caseId);
    return row && { zone: row.zone, ...(row.status === 'closed' && row.closed_at ? { closedAt: row.closed_at } : {}) };
  }
}
