import type Database from 'better-sqlite3';
import type { CaseSealer, CaseStatus, ZoneProtocol } from '../../events';
import type { CaseSummary } from './case-index';
import { type AgencyCaseView, agencyCaseView, caseFacts, type CaseView, type Disclosure, type LedgerEntry, protocolAsOf } from '../policy';
import { HeldWrites } from './held-writes';
import { LedgerCopy } from './ledger-copy';

/** Who a partition belongs to: the authenticated zone and agency, nothing else. */
export interface PartitionOwner {
  readonly zone: string;
  readonly agency: string;
}

export interface CaseRow {
  readonly caseId: string;
  readonly status: string;
  readonly revision: number;
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly view: CaseView;
  readonly disclosure: Disclosure;
}

export interface CaseListRow {
  readonly caseId: string;
  readonly status: string;
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly person?: { givenName: string; familyName: string };
  readonly disclosure: Disclosure;
}

export interface ListQuery {
  readonly status?: string;
  readonly limit: number;
  /** Keyset: the (openedAt, caseId) of the last row of the previous page. */
  readonly after?: { openedAt: string; caseId: string };
}

interface Row {
  case_id: string;
  status: string;
  revision: number;
  opened_at: string;
  updated_at: string;
  /** The row's personal data (rowText), sealed under the case's data key; `clear:` text for an erased case's stub. */
  sealed: Uint8Array | string;
  disclosure: string;
  list_disclosure: string;
}

/**
 * What a view row keeps of the person, sealed in one AEAD operation per row written (a cipher
 * costs the same few microseconds whatever its length): the name the agency lists, the codes
 * its activity report counts, and the view, one JSON text per line (JSON.stringify writes no raw
 * newline), so a list page or a report parses its own line and not the whole view.
 */
const NAME = 0;
const SUMMARY = 1;
const VIEW = 2;

function rowText(view: AgencyCaseView): string {
  return `${JSON.stringify(view.listName ?? null)}\n${JSON.stringify(summaryOf(view.view))}\n${JSON.stringify(view.view)}`;
}

function rowPart(text: string, part: typeof NAME | typeof SUMMARY | typeof VIEW): unknown {
  const first = text.indexOf('\n');
  const second = text.indexOf('\n', first + 1);
  return JSON.parse(part === NAME ? text.slice(0, first) : part === SUMMARY ? text.slice(first + 1, second) : text.slice(second + 1));
}

/**
 * Per-agency case views: each (zone, agency) has its own table, `p<N>_cases`, and a partition
 * handle holds statements on that table alone. A query handler is given the handle of the
 * authenticated agency (AgencyCases.partition), so it has no way to name another agency's rows:
 * there is no "all agencies" query on the read path (ARCHITECTURE.md property 6).
 */
export class AgencyCases {
  private readonly ids = new Map<string, number>();
  private readonly writers = new Map<number, { upsert: Database.Statement; remove: Database.Statement }>();
  private readonly partitions = new Map<number, AgencyPartition>();
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly ledger: LedgerCopy,
    private readonly sealer: CaseSealer,
    private readonly writes: HeldWrites = new HeldWrites(sealer),
  ) {
    db.exec(`
      -- Rows here hold whole views (kilobytes): ordinary rowid tables, which SQLite stores large
      -- rows in far better than WITHOUT ROWID ones (sqlite.org/withoutrowid.html, section 4).
      CREATE TABLE IF NOT EXISTS partitions (
        id INTEGER PRIMARY KEY, zone TEXT NOT NULL, agency TEXT NOT NULL, UNIQUE (zone, agency)
      );
      CREATE TABLE IF NOT EXISTS case_agencies (
        zone TEXT NOT NULL, case_id TEXT NOT NULL, agency TEXT NOT NULL, PRIMARY KEY (zone, case_id, agency)
      ) WITHOUT ROWID;
    `);
    this.s = {
      find: db.prepare<[string, string], { id: number }>('SELECT id FROM partitions WHERE zone = ? AND agency = ?'),
      create: db.prepare<[string, string]>('INSERT INTO partitions (zone, agency) VALUES (?, ?)'),
      agencies: db.prepare<[string, string], { agency: string }>('SELECT agency FROM case_agencies WHERE zone = ? AND case_id = ?'),
      link: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO case_agencies (zone, case_id, agency) VALUES (?, ?, ?)'),
      unlink: db.prepare<[string, string, string]>('DELETE FROM case_agencies WHERE zone = ? AND case_id = ? AND agency = ?'),
    };
  }

  private partitionId(owner: PartitionOwner, create: boolean): number | undefined {
    const key = `${owner.zone}\u0000${owner.agency}`;
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    id = this.s.find.get(owner.zone, owner.agency)?.id;
    if (id === undefined && create) {
      id = Number(this.s.create.run(owner.zone, owner.agency).lastInsertRowid);
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS p${id}_cases (
          case_id TEXT PRIMARY KEY, status TEXT NOT NULL, revision INTEGER NOT NULL,
          opened_at TEXT NOT NULL, updated_at TEXT NOT NULL,
          sealed BLOB NOT NULL, disclosure TEXT NOT NULL, list_disclosure TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS p${id}_by_opening ON p${id}_cases (opened_at DESC, case_id DESC);
      `);
    }
    if (id !== undefined) this.ids.set(key, id);
    return id;
  }

  /** The agencies that currently have a row for the case (to remove those that no longer see it). */
  agenciesWithView(zone: string, caseId: string): string[] {
    return this.s.agencies.all(zone, caseId).map((r) => r.agency);
  }

  /** Writes (or, with undefined, removes) one agency's view of one case. Runner only. */
  write(owner: PartitionOwner, caseId: string, view: AgencyCaseView | undefined): void {
    const id = this.partitionId(owner, view !== undefined);
    if (id === undefined) return;
    let writer = this.writers.get(id);
    if (!writer) {
      writer = {
        upsert: this.db.prepare(
          // An upsert rewrites the row where it is; INSERT OR REPLACE deleted it and inserted it
          // again under a new rowid, touching the primary-key index too (about 20% more per row
          // of kilobytes, measured on 40,000 rows).
          `INSERT INTO p${id}_cases (case_id, status, revision, opened_at, updated_at, sealed, disclosure, list_disclosure)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, revision = excluded.revision, opened_at = excluded.opened_at,
             updated_at = excluded.updated_at, sealed = excluded.sealed, disclosure = excluded.disclosure, list_disclosure = excluded.list_disclosure`,
        ),
        remove: this.db.prepare(`DELETE FROM p${id}_cases WHERE case_id = ?`),
      };
      this.writers.set(id, writer);
    }
    const { upsert, remove } = writer;
    if (!view) {
      this.writes.plain(() => {
        remove.run(caseId);
        this.s.unlink.run(owner.zone, caseId, owner.agency);
      });
      return;
    }
    const v = view.view;
    const text = rowText(view);
    const put = (sealed: Uint8Array | string) => {
      upsert.run(caseId, v.status, v.revision, v.openedAt, v.updatedAt, sealed, JSON.stringify(view.disclosure), JSON.stringify(view.listDisclosure));
      this.s.link.run(owner.zone, caseId, owner.agency);
    };
    // The view, the listed name and the counted codes are the person's data: sealed under their
    // data key. An erased case's stub holds none, and its key is gone: in clear.
    if (v.erased) this.writes.plain(() => put(`clear:${text}`));
    else this.writes.sealed(caseId, 'row', text, put);
  }

  /** The read handle of one agency's partition; an agency with no views yet gets one with no table (its dirty cases are still computed on demand). */
  partition(owner: PartitionOwner): AgencyPartition {
    const id = this.partitionId(owner, false);
    if (id === undefined) return new AgencyPartition(MINT, undefined, undefined, { zone: owner.zone, agency: owner.agency }, this.ledger, this.sealer);
    let partition = this.partitions.get(id);
    if (!partition) {
      partition = new AgencyPartition(MINT, this.db, id, { zone: owner.zone, agency: owner.agency }, this.ledger, this.sealer);
      this.partitions.set(id, partition);
    }
    return partition;
  }
}

/** Only this module can make a partition handle: the constructor asks for a key nobody else holds. */
const MINT = Symbol('AgencyPartition');

/** One agency's views. Its statements name its own table and no other. */
export class AgencyPartition {
  private readonly get_: Database.Statement<[string], Row> | undefined;
  /** The row and whether the case waits to be computed again, in one statement (when the partition has the ledger's copy). */
  private readonly getFresh: Database.Statement<[{ zone: string; caseId: string }], Partial<Row> & { dirty: number }> | undefined;
  private readonly summaries_: Database.Statement<[], { case_id: string; status: string; opened_at: string; sealed: Uint8Array | string }> | undefined;
  private readonly list_: Database.Statement<[string, string, string, string, string, number], Row> | undefined;

  constructor(
    mint: typeof MINT,
    db: Database.Database | undefined,
    id: number | undefined,
    private readonly owner?: PartitionOwner,
    private readonly ledger?: LedgerCopy,
    private readonly sealer?: CaseSealer,
  ) {
    if (mint !== MINT) throw new Error('an AgencyPartition comes from AgencyCases.partition(owner)');
    if (!db || id === undefined) return;
    this.get_ = db.prepare(`SELECT * FROM p${id}_cases WHERE case_id = ?`);
    this.getFresh =
      owner && ledger ? db.prepare(`SELECT ${LedgerCopy.DIRTY_SQL} AS dirty, c.* FROM (SELECT @caseId AS id) AS k LEFT JOIN p${id}_cases AS c ON c.case_id = k.id`) : undefined;
    this.summaries_ = db.prepare(`SELECT case_id, status, opened_at, sealed FROM p${id}_cases`);
    this.list_ = db.prepare(
      `SELECT * FROM p${id}_cases
       WHERE (? = '' OR status = ?) AND (opened_at < ? OR (opened_at = ? AND case_id < ?))
       ORDER BY opened_at DESC, case_id DESC LIMIT ?`,
    );
  }

  /**
   * The agency's view of a case. A case whose views are waiting to be computed again (a
   * protocol renewal marks a whole zone so; the runner works through it in batches) is computed
   * here and now from the case's events (ledger-copy.ts) by the same policy, so a read never
   * shows what the ledger and the protocol in force no longer allow, and never waits for the
   * rest of the zone.
   */
  get(caseId: string): CaseRow | undefined {
    if (this.getFresh) {
      const found = this.getFresh.get({ zone: this.owner!.zone, caseId })!;
      if (found.dirty === 1) return this.computed(caseId);
      return found.case_id === null ? undefined : this.toCaseRow(found as Row);
    }
    const row = this.get_?.get(caseId);
    return row && this.toCaseRow(row);
  }

  private computed(caseId: string): CaseRow | undefined {
    const shown = this.compute(caseId);
    if (!shown) return undefined;
    const v = shown.view;
    return { caseId, status: v.status, revision: v.revision, openedAt: v.openedAt, updatedAt: v.updatedAt, view: v, disclosure: shown.disclosure };
  }

  /** `protocol`: the zone's protocol in force, when the caller computes many cases with it. */
  private compute(caseId: string, protocol = protocolAsOf(this.ledger!.protocolEntries(this.owner!.zone))): AgencyCaseView | undefined {
    const { zone, agency } = this.owner!;
    const entries = this.ledger!.caseEntries(zone, caseId);
    if (entries.length === 0) return undefined;
    return agencyCaseView(caseFacts(caseId, entries, protocol), agency);
  }

  /** A row's sealed text opened; undefined once the case's person is erased (its views are then recomputed as a stub). */
  private open(caseId: string, sealed: Uint8Array | string): string | undefined {
    return this.sealer!.open(caseId, 'row', sealed);
  }

  private toCaseRow(row: Row): CaseRow {
    const text = this.open(row.case_id, row.sealed);
    const view = text === undefined ? undefined : (rowPart(text, VIEW) as CaseView);
    return {
      caseId: row.case_id,
      status: row.status,
      revision: row.revision,
      openedAt: row.opened_at,
      updatedAt: row.updated_at,
      view: view ? view : { caseId: row.case_id, status: row.status as CaseStatus, revision: row.revision, openedAt: row.opened_at, updatedAt: row.updated_at, erased: true },
      disclosure: view ? (JSON.parse(row.disclosure) as Disclosure) : { categories: [], basis: [], owners: [] },
    };
  }

  /**
   * The ledger of a case that exists for this partition's agency (its row is here), from which
   * the policy computes what else the agency may be shown of it (its history). Histories grow
   * with every event, so they are computed when asked rather than stored for every agency.
   */
  ledgerOf(caseId: string): { entries: LedgerEntry[]; protocol: ZoneProtocol | undefined } | undefined {
    if (!this.owner || !this.ledger || !this.get(caseId)) return undefined;
    return { entries: this.ledger.caseEntries(this.owner.zone, caseId), protocol: protocolAsOf(this.ledger.protocolEntries(this.owner.zone)) };
  }

  /** Whose partition this is. */
  get agency(): string | undefined {
    return this.owner?.agency;
  }

  /**
   * The activity report's input as this agency is shown it: each case that exists for it, its
   * status and month, and the codes its view shows (ENTITLEMENTS.md "Nothing leaks through the
   * side": an agency's aggregates count only what it may see). As in get() and list(), a case
   * waiting to be computed again is computed now: a renewal that narrows what the agency
   * receives is in force at once, in its figures too, and a case the agency has no row for yet
   * is counted if it now exists for it. With nothing waiting, the stored rows are read as they are.
   */
  summaries(): CaseSummary[] {
    const waiting = this.waitingCases();
    const rows = this.summaries_?.all() ?? [];
    const summaries: CaseSummary[] = [];
    for (const r of rows) {
      if (waiting.has(r.case_id)) continue;
      const text = this.open(r.case_id, r.sealed);
      summaries.push({
        status: r.status as CaseStatus,
        openedAt: r.opened_at,
        ...(text !== undefined ? (rowPart(text, SUMMARY) as Omit<CaseSummary, 'status' | 'openedAt'>) : { programmes: [], needs: [], outcomes: [] }),
      });
    }
    if (waiting.size === 0) return summaries;
    const protocol = protocolAsOf(this.ledger!.protocolEntries(this.owner!.zone));
    for (const caseId of waiting) {
      const shown = this.compute(caseId, protocol);
      if (shown) summaries.push({ status: shown.view.status, openedAt: shown.view.openedAt, ...summaryOf(shown.view) });
    }
    return summaries;
  }

  /**
   * The cases of this partition's zone whose views wait to be computed again. The marks are few
   * but for a renewal's zone, and none at all most of the time: counting them first keeps a
   * report on a zone with nothing waiting as fast as reading its rows.
   */
  private waitingCases(): Set<string> {
    if (!this.owner || !this.ledger) return new Set();
    const marked = this.ledger.dirtyCount();
    if (marked === 0) return new Set();
    return new Set(
      this.ledger
        .dirtyCases(marked)
        .filter((c) => c.zone === this.owner!.zone)
        .map((c) => c.caseId),
    );
  }

  /**
   * A page of the agency's cases, the latest opened first; a row whose case waits to be computed
   * again is computed now (or left out, if the case no longer exists for the agency). By opening,
   * which never changes, not by the last update: a case updated while a client walks the pages
   * would jump ahead of its cursor and be missed, and when an update that moves it is one the
   * agency may not see, which cases a walk lists would depend on it.
   */
  list(query: ListQuery): CaseListRow[] {
    if (!this.list_) return [];
    const rows: CaseListRow[] = [];
    let after = query.after ?? { openedAt: '\uffff', caseId: '\uffff' };
    for (;;) {
      const page = this.list_.all(query.status ?? '', query.status ?? '', after.openedAt, after.openedAt, after.caseId, query.limit);
      for (const row of page) {
        const listed = this.owner && this.ledger?.isDirty(this.owner.zone, row.case_id) ? this.listedNow(row.case_id, query.status) : this.listed(row);
        if (listed) rows.push(listed);
        if (rows.length === query.limit) return rows;
      }
      if (page.length < query.limit) return rows;
      const last = page[page.length - 1]!;
      after = { openedAt: last.opened_at, caseId: last.case_id };
    }
  }

  private listed(row: Row): CaseListRow {
    const text = this.open(row.case_id, row.sealed);
    const name = text === undefined ? undefined : (rowPart(text, NAME) as { givenName: string; familyName: string } | null);
    return {
      caseId: row.case_id,
      status: row.status,
      openedAt: row.opened_at,
      updatedAt: row.updated_at,
      ...(name ? { person: name } : {}),
      // A row whose person was erased a moment ago (its stub not yet written) shows nothing of them.
      disclosure: text === undefined ? { categories: [], basis: [], owners: [] } : (JSON.parse(row.list_disclosure) as Disclosure),
    };
  }

  private listedNow(caseId: string, status: string | undefined): CaseListRow | undefined {
    const shown = this.compute(caseId);
    if (!shown || (status !== undefined && shown.view.status !== status)) return undefined;
    const v = shown.view;
    return {
      caseId,
      status: v.status,
      openedAt: v.openedAt,
      updatedAt: v.updatedAt,
      ...(shown.listName ? { person: shown.listName } : {}),
      disclosure: shown.listDisclosure,
    };
  }
}

/** The codes of a view that the activity report counts: what this agency is shown, nothing more. */
function summaryOf(view: CaseView): Omit<CaseSummary, 'status' | 'openedAt'> {
  const outcomes = ((view.outcomes ?? []) as Array<{ outcomes: string[] }>).flatMap((o) => o.outcomes);
  return { programmes: (view.programmes ?? []) as string[], needs: (view.needs ?? []) as string[], outcomes };
}
