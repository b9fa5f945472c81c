import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { partyOf } from '../../events';
import { type ActivityReport, activityReport } from '../../projections/read-models';
import type { Caller } from '../access/caller';
import { Forbidden, ValidationFailed } from '../errors';
import { CLOCK, type Clock } from '../ledger/clock';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { ReadBarrier } from './read-barrier';

/** The last calendar month (YYYY-MM, UTC, as cases' months are counted) that has ended at `now`. */
export function lastEndedMonth(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

/**
 * The months a report counts: whole calendar months that have ended (ENTITLEMENTS.md
 * "Aggregates"), up to the last ended one when `to` is not given. A month still under way is
 * refused, not counted: its figures would change with each case opened, and two reports taken
 * minutes apart would single out one referral, with its needs, by their difference.
 */
export function reportMonths(range: { from?: string; to?: string }, now: Date): { from?: string; to: string } {
  const last = lastEndedMonth(now);
  const ended = 'must be a month that has ended (a month is counted once it is over)';
  const issues = [
    ...(range.from !== undefined && range.from > last ? [{ path: 'query.from', message: ended }] : []),
    ...(range.to !== undefined && range.to > last ? [{ path: 'query.to', message: ended }] : []),
  ];
  if (issues.length > 0) throw new ValidationFailed(issues, `the last month that has ended is ${last}`);
  return { ...(range.from !== undefined ? { from: range.from } : {}), to: range.to ?? last };
}

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
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ caller, range }: GetActivityReport) {
    const { actor } = caller;
    const coordinationBody = partyOf(await this.protocols.current(actor.zone), actor.agency)?.kind === 'coordination';
    if (!actor.roles.includes('coordinator') && !coordinationBody) throw new Forbidden('the activity report is for coordinators and coordination bodies');
    const months = reportMonths(range, this.clock.now());
    await this.barrier.pass();
    // A coordination body sees no case, only the zone's figures. Any other agency's report counts
    // what its agency is shown, so that hidden data cannot change its answer (ENTITLEMENTS.md).
    return activityReport(coordinationBody ? caller.zoneFigures().summaries() : caller.cases().summaries(), months);
  }
}
