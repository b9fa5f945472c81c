import type Database from 'better-sqlite3';

/** One record of the access trail, as a DPO reads it (API.md "DPO"). */
export interface TrailRecord {
  readonly id: string;
  readonly at: string;
  readonly agency: string;
  readonly operator: string;
  readonly roles: string[];
  readonly action: string;
  readonly caseId: string;
  readonly categories: string[];
  readonly purpose: string;
  readonly basis: string[];
  readonly outcome: string;
  readonly ip?: string;
}

export interface TrailQuery {
  readonly scope: 'by-us' | 'of-our-data';
  readonly caseIds?: readonly string[];
  readonly operator?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
  /** Keyset: records older than this sequence number. */
  readonly before?: number;
  /** Records of these actions are left out (the per-person report leaves out the DPOs' own lookups). */
  readonly excludeActions?: readonly string[];
}

interface Row {
  seq: number;
  id: string;
  at: string;
  agency: string;
  operator: string;
  roles: string;
  action: string;
  case_id: string;
  categories: string;
  purpose: string;
  basis: string;
  outcome: string;
  ip: string | null;
}

/**
 * The access trail as DPOs query it, fed from AccessRecorded events of the ledger (the records
 * themselves are ledger events: append-only, durable before the response, replicated with the
 * ledger). Each DPO reads the records of its own agency's operators (`by-us`) and those in
 * which its agency's data was disclosed (`of-our-data`); a query names its zone and agency.
 */
export class AccessTrail {
  private readonly insert: Database.Statement;
  private readonly owner: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS trail (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, zone TEXT NOT NULL, at TEXT NOT NULL,
        agency TEXT NOT NULL, operator TEXT NOT NULL, roles TEXT NOT NULL, action TEXT NOT NULL,
        case_id TEXT NOT NULL, categories TEXT NOT NULL, purpose TEXT NOT NULL, basis TEXT NOT NULL,
        outcome TEXT NOT NULL, ip TEXT
      );
      CREATE INDEX IF NOT EXISTS trail_by_agency ON trail (zone, agency, seq);
      CREATE INDEX IF NOT EXISTS trail_by_case ON trail (zone, case_id, seq);
      CREATE TABLE IF NOT EXISTS trail_owners (
        zone TEXT NOT NULL, owner TEXT NOT NULL, seq INTEGER NOT NULL,
        categories TEXT NOT NULL, basis TEXT NOT NULL,
        PRIMARY KEY (zone, owner, seq)
      ) WITHOUT ROWID;
    `);
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO trail (id, zone, at, agency, operator, roles, action, case_id, categories, purpose, basis, outcome, ip)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.owner = db.prepare('INSERT OR IGNORE INTO trail_owners (zone, owner, seq, categories, basis) VALUES (?, ?, ?, ?, ?)');
  }

  /** Runner only: one AccessRecorded event. */
  add(zone: string, record: TrailRecord & { owners: ReadonlyArray<{ agency: string; categories: readonly string[]; basis: readonly string[] }> }): void {
    const info = this.insert.run(
      record.id,
      zone,
      record.at,
      record.agency,
      record.operator,
      JSON.stringify(record.roles),
      record.action,
      record.caseId,
      JSON.stringify(record.categories),
      record.purpose,
      JSON.stringify(record.basis),
      record.outcome,
      record.ip ?? null,
    );
    if (info.changes === 0) return;
    for (const owner of record.owners) this.owner.run(zone, owner.agency, info.lastInsertRowid, JSON.stringify(owner.categories), JSON.stringify(owner.basis));
  }

  /** The records in one DPO's scope, newest first; `from` inclusive, `to` exclusive. */
  query(dpo: { zone: string; agency: string }, q: TrailQuery): Array<TrailRecord & { seq: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    // of-our-data: categories and basis are those of the DPO's own agency's data only.
    let select = 't.*';
    let from = 'trail t';
    if (q.scope === 'by-us') {
      where.push('t.zone = ? AND t.agency = ?');
      params.push(dpo.zone, dpo.agency);
    } else {
      select = 't.seq, t.id, t.at, t.agency, t.operator, t.roles, t.action, t.case_id, o.categories, t.purpose, o.basis, t.outcome, t.ip';
      from = 'trail_owners o JOIN trail t ON t.seq = o.seq';
      where.push('o.zone = ? AND o.owner = ?');
      params.push(dpo.zone, dpo.agency);
    }
    if (q.caseIds) {
      where.push(`t.case_id IN (${q.caseIds.map(() => '?').join(',') || "''"})`);
      params.push(...q.caseIds);
    }
    if (q.operator) {
      where.push('t.operator = ?');
      params.push(q.operator);
    }
    if (q.from) {
      where.push('t.at >= ?');
      params.push(asRecorded(q.from));
    }
    if (q.to) {
      where.push('t.at < ?');
      params.push(asRecorded(q.to));
    }
    if (q.before !== undefined) {
      where.push('t.seq < ?');
      params.push(q.before);
    }
    if (q.excludeActions?.length) {
      where.push(`t.action NOT IN (${q.excludeActions.map(() => '?').join(',')})`);
      params.push(...q.excludeActions);
    }
    const rows = this.db.prepare(`SELECT ${select} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY t.seq DESC LIMIT ?`).all(...params, q.limit) as Row[];
    return rows.map((r) => ({
      seq: r.seq,
      id: r.id,
      at: r.at,
      agency: r.agency,
      operator: r.operator,
      roles: JSON.parse(r.roles) as string[],
      action: r.action,
      caseId: r.case_id,
      categories: JSON.parse(r.categories) as string[],
      purpose: r.purpose,
      basis: JSON.parse(r.basis) as string[],
      outcome: r.outcome,
      ...(r.ip ? { ip: r.ip } : {}),
    }));
  }
}

/**
 * An instant spelt as records spell theirs (Date.toISOString: milliseconds and `Z`), for the
 * text comparisons of a query: `…:03Z` compared as given would sort after every record of that
 * second ('.' < 'Z'). A finer instant is rounded up to the next millisecond, which keeps both
 * bounds exact for records timed to the millisecond (at ≥ from, at < to).
 */
export function asRecorded(instant: string): string {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) throw new RangeError(`not an instant: ${instant}`);
  const finer = /[1-9]/.test(/\.\d{3}(\d*)Z$/i.exec(instant)?.[1] ?? '');
  return new Date(finer ? ms + 1 : ms).toISOString();
}
