import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type { TrailQuery, TrailRecord } from '../../projections/read-models';
import type { Caller } from '../access/caller';
import { Disclosures, type RequestContext, type TrailAction } from './disclosures';
import { ReadBarrier } from './read-barrier';

/*
 * API.md "DPO": each agency's DPO reads the records made by its own operators (`by-us`) and
 * those in which its agency's data was disclosed to anyone (`of-our-data`), never case
 * content. The caller's DPO scope is the only door (access/caller.ts).
 */

/** A record as a DPO reads it: in `of-our-data`, the reader may be `undisclosed`, without operator, address, roles, purpose nor basis. */
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
    readonly request: RequestContext,
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

/** The DPOs' own lookups of a person, on the trail but not in the report they ask for. */
const LOOKUP: TrailAction = 'dpo.subject';

/**
 * Every record, in the DPO's scope, about the cases of one person, newest first. The report ties
 * a person to their cases, so the lookup is itself on the trail before the answer leaves
 * (`dpo.subject`: one record per case it names, `*` and `not-found` when none), in the DPO's own
 * `by-us`; the report leaves such records out, or each lookup would change the next.
 */
@Injectable()
@QueryHandler(ReadSubjectTrail)
export class ReadSubjectTrailHandler implements IQueryHandler<ReadSubjectTrail> {
  constructor(
    @Inject(ReadBarrier) private readonly barrier: ReadBarrier,
    @Inject(Disclosures) private readonly disclosures: Disclosures,
  ) {}

  async execute({ caller, fiscalCode, limit, request, before }: ReadSubjectTrail) {
    await this.barrier.pass({ everything: true });
    const trail = caller.accessTrail();
    const caseIds = trail.casesOfPerson(fiscalCode);
    const named = caseIds.length > 0 ? caseIds.map((caseId) => ({ caseId, outcome: 'disclosed' as const })) : [{ caseId: '*', outcome: 'not-found' as const }];
    await this.disclosures.record(caller.actor, LOOKUP, named, request);
    if (caseIds.length === 0) return { items: [] };
    // A page of each scope, merged newest first; a record in both is read as by-us (the DPO's own agency's reader, in full).
    const seen = new Map<string, TrailItem & { seq: number }>();
    for (const scope of ['by-us', 'of-our-data'] as const) {
      for (const record of trail.records({ scope, caseIds, limit: limit + 1, before, excludeActions: [LOOKUP] })) if (!seen.has(record.id)) seen.set(record.id, record);
    }
    const merged = [...seen.values()].sort((a, b) => b.seq - a.seq);
    const page = merged.slice(0, limit);
    return { items: page.map(({ seq: _seq, ...record }) => record), lastSeq: merged.length > limit ? page[page.length - 1]!.seq : undefined };
  }
}

export const TRAIL_QUERY_HANDLERS = [ReadAccessTrailHandler, ReadSubjectTrailHandler];
