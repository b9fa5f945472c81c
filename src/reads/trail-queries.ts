import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type { TrailQuery, TrailRecord } from '../../projections/read-models';
import type { Caller } from '../access/caller';
import { ReadBarrier } from './read-barrier';

/*
 * API.md "DPO": each agency's DPO reads the records made by its own operators (`by-us`) and
 * those in which its agency's data was disclosed to anyone (`of-our-data`), never case
 * content. The caller's DPO scope is the only door (access/caller.ts).
 */

/** A record as a DPO reads it: in `of-our-data`, the reader may be `undisclosed`, without operator. */
export type TrailItem = Omit<TrailRecord, 'operator'> & { operator?: string };

export class ReadAccessTrail extends Query<{ items: TrailItem[]; lastSeq?: number }> {
  constructor(
    readonly caller: Caller,
    readonly query: TrailQuery,
  ) {
    super();
  }
}

export class ReadSubjectTrail extends Query<TrailItem[]> {
  constructor(
    readonly caller: Caller,
    readonly fiscalCode: string,
  ) {
    super();
  }
}

@Injectable()
@QueryHandler(ReadAccessTrail)
export class ReadAccessTrailHandler implements IQueryHandler<ReadAccessTrail> {
  constructor(@Inject(ReadBarrier) private readonly barrier: ReadBarrier) {}

  async execute({ caller, query }: ReadAccessTrail) {
    // The trail is written by reads too: wait for everything in the ledger, not only commands.
    await this.barrier.pass({ everything: true });
    const records = caller.accessTrail().records(query);
    const last = records[records.length - 1];
    return { items: records.map(({ seq: _seq, ...record }) => record), lastSeq: records.length === query.limit ? last?.seq : undefined };
  }
}

/** Every record, in the DPO's scope, about the cases of one person, newest first. */
@Injectable()
@QueryHandler(ReadSubjectTrail)
export class ReadSubjectTrailHandler implements IQueryHandler<ReadSubjectTrail> {
  constructor(@Inject(ReadBarrier) private readonly barrier: ReadBarrier) {}

  async execute({ caller, fiscalCode }: ReadSubjectTrail) {
    await this.barrier.pass({ everything: true });
    const trail = caller.accessTrail();
    const caseIds = trail.casesOfPerson(fiscalCode);
    const seen = new Map<string, TrailItem>();
    if (caseIds.length > 0) {
      for (const scope of ['by-us', 'of-our-data'] as const) {
        // A record in both scopes is read as by-us: the DPO's own agency's reader, in full.
        for (const { seq: _seq, ...record } of trail.records({ scope, caseIds, limit: 100_000 })) if (!seen.has(record.id)) seen.set(record.id, record);
      }
    }
    return [...seen.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }
}

export const TRAIL_QUERY_HANDLERS = [ReadAccessTrailHandler, ReadSubjectTrailHandler];
