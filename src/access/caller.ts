import { type CaseStatus, type TRAIL_ACTIONS, UNDISCLOSED_AGENCY } from '../../events';
import type { AgencyPartition, CaseSummary, ReadModels, TrailQuery, TrailRecord } from '../../projections/read-models';
import { type CallerKnowledge, callerKnowledge, caseFacts, consentOfBasis, protocolAsOf } from '../../projections/policy';
import type { Actor } from './actor';

const ERASURE_ACTION: (typeof TRAIL_ACTIONS)[number] = 'subject.erasure';

/**
 * The one door from the read path to the read models (ARCHITECTURE.md property 6). A Caller is
 * made only by the token verifier (tokens.ts), from a verified token, and it opens only the
 * caller's own doors: its agency's partition of case views, its DPO's scope of the access
 * trail, its zone's figures. No method takes an agency or a zone: they come from the token.
 * An architecture rule (test/architecture) checks that nothing but this module calls the
 * partition or the trail's query, and that src/http does not import read models at all.
 */
export class Caller {
  private constructor(
    readonly actor: Actor,
    private readonly models: ReadModels,
  ) {}

  /** @internal for tokens.ts only (checked by an architecture rule). */
  static mint(actor: Actor, models: ReadModels): Caller {
    return new Caller(Object.freeze({ ...actor, roles: Object.freeze([...actor.roles]) }), models);
  }

  /** The caller's agency's views of the cases of its zone. */
  cases(): AgencyPartition {
    return this.models.cases.partition({ zone: this.actor.zone, agency: this.actor.agency });
  }

  /**
   * The access trail as the caller's agency's DPO may read it (API.md "DPO", ENTITLEMENTS.md
   * "The access trail"): in `of-our-data`, the reading agency and its operator are named only
   * where the DPO's agency may see that agency's membership of the case (otherwise
   * `undisclosed`, with no operator, address, roles, purpose nor basis), and categories and
   * basis are those of its own data only (the read model keeps them per owner; a basis names
   * only authorisations the DPO's agency is shown). The per-person report lists only cases that
   * exist for the DPO's agency.
   */
  accessTrail(): DpoTrail {
    const { zone, agency } = this.actor;
    const { trail, index, ledger } = this.models;
    const partition = this.cases();
    /**
     * Pages of records as the DPO is shown them (`show` takes a page of the trail and returns what
     * of it is shown), read on past the records it leaves out, so a page is full whenever there
     * is more.
     */
    const shownPages = <R extends { seq: number }>(query: TrailQuery, show: (page: Array<TrailRecord & { seq: number }>) => R[]): R[] => {
      const shown: R[] = [];
      for (let before = query.before; ;) {
        const page = trail.query({ zone, agency }, { ...query, before });
        shown.push(...show(page));
        if (page.length < query.limit || shown.length >= query.limit) return shown.slice(0, query.limit);
        before = page[page.length - 1]!.seq;
      }
    };
    return {
      records: (query) => {
        // An erasure puts a record on every case of the person, under the erasing agency: only
        // those of cases that exist for it are its DPO's, or the trail would name cases the agency
        // gets 404 for (ENTITLEMENTS.md "Case C exists for A").
        if (query.scope === 'by-us') return shownPages(query, (page) => page.filter((r) => r.action !== ERASURE_ACTION || partition.get(r.caseId) !== undefined));
        // The operator asked for is matched against the records as shown, never as kept: matched
        // before, the presence of records whose reader is withheld would say whether that operator
        // (and so its agency) read the case (ENTITLEMENTS.md "Nothing leaks through the side").
        const { operator, ...unfiltered } = query;
        const knowledge = new Map<string, CallerKnowledge>();
        const knows = (caseId: string) => {
          let known = knowledge.get(caseId);
          if (!known) {
            const protocol = protocolAsOf(ledger.protocolEntries(zone));
            known = callerKnowledge(caseFacts(caseId, ledger.caseEntries(zone, caseId), protocol).state, protocol, agency);
            knowledge.set(caseId, known);
          }
          return known;
        };
        // Everything the hidden reader brought to the record is withheld with its name: its address
        // names it as well (an agency's network), its roles and X-Purpose are its own words, and the
        // basis it read under can name an authorisation the DPO's agency may not see, or say
        // which agency it is (self-reference, referrer-feedback).
        const shown = (record: TrailRecord & { seq: number }) => {
          const known = knows(record.caseId);
          if (!known.membershipOf(record.agency)) return undisclosedReader(record);
          // A shown reader may have read under an authorisation whose grants are all hidden from
          // this agency: not its id either.
          return {
            ...record,
            basis: record.basis.filter((b) => {
              const consent = consentOfBasis(b);
              return consent === undefined || known.consent(consent);
            }),
          };
        };
        return shownPages(unfiltered, (page) => page.map(shown).filter((record) => operator === undefined || record.operator === operator));
      },
      casesOfPerson: (fiscalCode) => index.casesOfPerson(zone, fiscalCode).filter((caseId) => partition.get(caseId) !== undefined),
    };
  }

  /** Counts of the caller's zone, never rows (the activity report). */
  zoneFigures(): ZoneFigures {
    const zone = this.actor.zone;
    return { summaries: () => this.models.index.summaries(zone) };
  }
}

/** An `of-our-data` record whose reader the DPO's agency may not see: when, what, which case, which of its data, and the outcome. */
function undisclosedReader<R extends TrailRecord>(record: R): Omit<R, 'operator'> & { operator?: string } {
  return { ...record, agency: UNDISCLOSED_AGENCY, operator: undefined, ip: undefined, roles: [], purpose: UNDISCLOSED_AGENCY, basis: [] };
}

export interface DpoTrail {
  records(query: TrailQuery): Array<Omit<TrailRecord, 'operator'> & { operator?: string; seq: number }>;
  /** The cases of the caller's zone about one person (for the per-person report). */
  casesOfPerson(fiscalCode: string): string[];
}

export interface ZoneFigures {
  summaries(): CaseSummary[];
}

export type { CaseStatus };
