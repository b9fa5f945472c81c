import { Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type { AgencyPartition, CaseListRow, CaseRow, ListQuery } from '../../projections/read-models';
import type { AgencyCaseHistory } from '../../projections/policy';

/**
 * Case queries carry the caller's partition: a query without an agency does not compile, and
 * its handler can read nothing but that agency's views.
 */
export class GetCaseView extends Query<CaseRow | undefined> {
  constructor(
    readonly partition: AgencyPartition,
    readonly caseId: string,
  ) {
    super();
  }
}

export class GetCaseHistory extends Query<AgencyCaseHistory | undefined> {
  constructor(
    readonly partition: AgencyPartition,
    readonly caseId: string,
  ) {
    super();
  }
}

export class ListCases extends Query<CaseListRow[]> {
  constructor(
    readonly partition: AgencyPartition,
    readonly query: ListQuery,
  ) {
    super();
  }
}

@Injectable()
@QueryHandler(GetCaseView)
export class GetCaseViewHandler implements IQueryHandler<GetCaseView> {
  async execute({ partition, caseId }: GetCaseView) {
    return partition.get(caseId);
  }
}

@Injectable()
@QueryHandler(GetCaseHistory)
export class GetCaseHistoryHandler implements IQueryHandler<GetCaseHistory> {
  async execute({ partition, caseId }: GetCaseHistory) {
    return partition.history(caseId);
  }
}

@Injectable()
@QueryHandler(ListCases)
export class ListCasesHandler implements IQueryHandler<ListCases> {
  async execute({ partition, query }: ListCases) {
    return partition.list(query);
  }
}
