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

export class ReadSubjectTrail extends Query<{ items: TrailItem[]; lastSeq?: number }> {
  constructor(
    readonly caller: Caller,
    readonly fiscalCode: string,
    readonly limit: number,
    /** Keyset: records older than this sequence number. */
    readonly before?: number,
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
    // One record more than the page: nextCursor is null on the page that holds the last record, never on an empty page after it.
    const records = caller.accessTrail().records({ ...query, limit: query.limit + 1 });
    const page = records.slice(0, query.limit);
    return { items: page.map(({ seq: _seq, ...record }) => record), lastSeq: records.length > query.limit ? page[page.length - 1]!.seq : undefined };
  }
}

/** Every record, in the DPO's scope, about the cases of one person, newest first. */
@Injectable()
@QueryHandler(ReadSubjectTrail)
export class ReadSubjectTrailHandler implements IQueryHandler<ReadSubjectTrail> {
  constructor(@Inject(ReadBarrier) private readonly barrier: ReadBarrier) {}

  async execute({ caller, fiscalCode, limit, before }: ReadSubjectTrail) {
    await this.barrier.pass({ everything: true });
    const trail = caller.accessTrail();
    const caseIds = trail.casesOfPerson(fiscalCode);
    if (caseIds.length === 0) return { items: [] };
    // A page of each scope, merged newest first; a record in both is read as by-us (the DPO's own agency's reader, in full).
    const seen = new Map<string, TrailItem & { seq: number }>();
    for (const scope of ['by-us', 'of-our-data'] as const) {
      for (const record of trail.records({ scope, caseIds, limit: limit + 1, before })) if (!seen.has(record.id)) seen.set(record.id, record);
    }
    const merged = [...seen.values()].sort((a, b) => b.seq - a.seq);
    const page = merged.slice(0, limit);
    return { items: page.map(({ seq: _seq, ...record }) => record), lastSeq: merged.length > limit ? page[page.length - 1]!.seq : undefined };
  }
}

export const TRAIL_QUERY_HANDLERS = [ReadAccessTrailHandler, ReadSubjectTrailHandler];
