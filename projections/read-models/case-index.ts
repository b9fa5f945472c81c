import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { CaseStatus } from '../../events';
import type { CaseFacts } from '../policy';

/**
 * Zone-level facts about cases that are not any agency's view: the case summary behind the
 * activity report (counts only, never rows), the fiscal code index behind the DPO's per-person
 * report (hashed: the index itself names no one), and the authorisations that will expire.
 */
export interface CaseSummary {
  readonly status: CaseStatus;
  readonly openedAt: string;
  readonly programmes: readonly string[];
  readonly needs: readonly string[];
  readonly outcomes: readonly string[];
}

export function fiscalCodeKey(zone: string, fiscalCode: string): string {
  return createHash('sha256').update(`${zone}\u0000${fiscalCode.trim().toUpperCase()}`).digest('hex');
}

export class CaseIndex {
  private readonly s;

  constructor(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS case_summary (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL,
        programmes TEXT NOT NULL, needs TEXT NOT NULL, outcomes TEXT NOT NULL,
        PRIMARY KEY (zone, case_id)
      ) WITHOUT ROWID;
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
      summary: db.prepare<[string, string, string, string, string, string, string]>(
        'INSERT OR REPLACE INTO case_summary (zone, case_id, status, opened_at, programmes, needs, outcomes) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      person: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO person_cases (zone, person_key, case_id) VALUES (?, ?, ?)'),
      casesOf: db.prepare<[string, string], { case_id: string }>('SELECT case_id FROM person_cases WHERE zone = ? AND person_key = ?'),
      clearDeadlines: db.prepare<[string, string]>('DELETE FROM consent_deadlines WHERE zone = ? AND case_id = ?'),
      deadline: db.prepare<[string, string, string, string]>('INSERT OR REPLACE INTO consent_deadlines (zone, case_id, consent_id, valid_until) VALUES (?, ?, ?, ?)'),
      due: db.prepare<[string, number], { zone: string; case_id: string; consent_id: string; valid_until: string }>(
        'SELECT zone, case_id, consent_id, valid_until FROM consent_deadlines WHERE valid_until <= ? ORDER BY valid_until LIMIT ?',
      ),
      summaries: db.prepare<[string], { status: string; opened_at: string; programmes: string; needs: string; outcomes: string }>(
        'SELECT status, opened_at, programmes, needs, outcomes FROM case_summary WHERE zone = ?',
      ),
    };
  }

  /** Keeps the zone-level facts of one case up to date. Runner only. */
  write(zone: string, facts: CaseFacts, summary: CaseSummary): void {
    const { caseId, entries } = facts;
    this.s.summary.run(zone, caseId, summary.status, summary.openedAt, JSON.stringify(summary.programmes), JSON.stringify(summary.needs), JSON.stringify(summary.outcomes));
    const referral = entries.find((e) => e.type === 'ReferralSubmitted');
    if (referral) this.s.person.run(zone, fiscalCodeKey(zone, (referral.data as { person: { fiscalCode: string } }).person.fiscalCode), caseId);
    this.s.clearDeadlines.run(zone, caseId);
    for (const entry of entries) {
      if (entry.type !== 'ConsentRecorded') continue;
      const { consentId, validUntil } = entry.data as { consentId: string; validUntil?: string };
      if (validUntil && facts.state.consents.get(consentId)?.status === 'active') this.s.deadline.run(zone, caseId, consentId, validUntil);
    }
  }

  casesOfPerson(zone: string, fiscalCode: string): string[] {
    return this.s.casesOf.all(zone, fiscalCodeKey(zone, fiscalCode)).map((r) => r.case_id);
  }

  /** Authorisations whose validity has passed and that no expiry has been recorded for yet. */
  dueConsents(now: string, limit = 500): Array<{ zone: string; caseId: string; consentId: string }> {
    return this.s.due.all(now, limit).map((r) => ({ zone: r.zone, caseId: r.case_id, consentId: r.consent_id }));
  }

  summaries(zone: string): CaseSummary[] {
    return this.s.summaries.all(zone).map((r) => ({
      status: r.status as CaseStatus,
      openedAt: r.opened_at,
      programmes: JSON.parse(r.programmes) as string[],
      needs: JSON.parse(r.needs) as string[],
      outcomes: JSON.parse(r.outcomes) as string[],
    }));
  }
}
