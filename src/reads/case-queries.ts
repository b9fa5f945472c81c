import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { agencyCaseHistory, caseFacts, type CaseView, type HistoryItem } from '../../projections/policy';
import type { CaseListRow, ListQuery } from '../../projections/read-models';
import type { Caller } from '../access/caller';
import { NotFound } from '../errors';
import { Disclosures, type RequestContext } from './disclosures';
import { ReadBarrier } from './read-barrier';

/*
 * The case reads of API.md "Case reads", one query each. A query carries the caller (the one
 * handle on its agency's views: access/caller.ts), so its handler can read nothing but that
 * agency's rows. Each handler waits for the views to reflect every write the caller may have
 * made (read-your-writes), reads, and writes the access-trail record before anything is
 * returned: a refusal (404) is recorded too, so an invisible case and an unknown one answer
 * alike (ENTITLEMENTS.md "The access trail").
 */

export class ListCases extends Query<CaseListRow[]> {
  constructor(
    readonly caller: Caller,
    readonly query: ListQuery,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class GetCaseView extends Query<{ view: CaseView; revision: number }> {
  constructor(
    readonly caller: Caller,
    readonly caseId: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class GetCaseHistory extends Query<{ items: HistoryItem[] }> {
  constructor(
    readonly caller: Caller,
    readonly caseId: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

@Injectable()
@QueryHandler(ListCases)
export class ListCasesHandler implements IQueryHandler<ListCases> {
  constructor(
    @Inject(ReadBarrier) private readonly barrier: ReadBarrier,
    @Inject(Disclosures) private readonly disclosures: Disclosures,
  ) {}

  async execute({ caller, query, request }: ListCases): Promise<CaseListRow[]> {
    await this.barrier.pass();
    const rows = caller.cases().list(query);
    await this.disclosures.record(
      caller.actor,
      'case.list',
      rows.map((row) => ({ caseId: row.caseId, outcome: 'disclosed', disclosure: row.disclosure })),
      request,
    );
    return rows;
  }
}

@Injectable()
@QueryHandler(GetCaseView)
export class GetCaseViewHandler implements IQueryHandler<GetCaseView> {
  constructor(
    @Inject(ReadBarrier) private readonly barrier: ReadBarrier,
    @Inject(Disclosures) private readonly disclosures: Disclosures,
  ) {}

  async execute({ caller, caseId, request }: GetCaseView) {
    await this.barrier.pass();
    const row = caller.cases().get(caseId);
    if (!row) {
      await this.disclosures.record(caller.actor, 'case.read', [{ caseId, outcome: 'not-found' }], request);
      throw new NotFound('no such case');
    }
    await this.disclosures.record(caller.actor, 'case.read', [{ caseId, outcome: 'disclosed', disclosure: row.disclosure }], request);
    return { view: row.view, revision: row.revision };
  }
}

/** The history is computed on read by the policy, from the ledger of a case that exists for the caller. */
@Injectable()
@QueryHandler(GetCaseHistory)
export class GetCaseHistoryHandler implements IQueryHandler<GetCaseHistory> {
  constructor(
    @Inject(ReadBarrier) private readonly barrier: ReadBarrier,
    @Inject(Disclosures) private readonly disclosures: Disclosures,
  ) {}

  async execute({ caller, caseId, request }: GetCaseHistory) {
    await this.barrier.pass();
    const ledger = caller.cases().ledgerOf(caseId);
    const history = ledger && agencyCaseHistory(caseFacts(caseId, ledger.entries, ledger.protocol), caller.actor.agency);
    if (!history) {
      await this.disclosures.record(caller.actor, 'case.history', [{ caseId, outcome: 'not-found' }], request);
      throw new NotFound('no such case');
    }
    await this.disclosures.record(caller.actor, 'case.history', [{ caseId, outcome: 'disclosed', disclosure: history.disclosure }], request);
    return { items: history.items };
  }
}

export const CASE_QUERY_HANDLERS = [ListCasesHandler, GetCaseViewHandler, GetCaseHistoryHandler];
