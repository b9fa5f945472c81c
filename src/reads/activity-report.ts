import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { partyOf } from '../../events';
import { type ActivityReport, activityReport } from '../../projections/read-models';
import type { Caller } from '../access/caller';
import { Forbidden } from '../errors';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { ReadBarrier } from './read-barrier';

/** API.md "Case reads": zone aggregates, for coordinators and for coordination bodies. No case, no person. */
export class GetActivityReport extends Query<ActivityReport> {
  constructor(
    readonly caller: Caller,
    readonly range: { from?: string; to?: string },
  ) {
    super();
  }
}

@Injectable()
@QueryHandler(GetActivityReport)
export class GetActivityReportHandler implements IQueryHandler<GetActivityReport> {
  constructor(
    @Inject(ProtocolLedger) private readonly protocols: ProtocolLedger,
    @Inject(ReadBarrier) private readonly barrier: ReadBarrier,
  ) {}

  async execute({ caller, range }: GetActivityReport) {
    const { actor } = caller;
    const coordinationBody = partyOf(await this.protocols.current(actor.zone), actor.agency)?.kind === 'coordination';
    if (!actor.roles.includes('coordinator') && !coordinationBody) throw new Forbidden('the activity report is for coordinators and coordination bodies');
    await this.barrier.pass();
    // A coordination body sees no case, only the zone's figures. Any other agency's report counts
    // what its agency is shown, so that hidden data cannot change its answer (ENTITLEMENTS.md).
    return activityReport(coordinationBody ? caller.zoneFigures().summaries() : caller.cases().summaries(), range);
  }
}
