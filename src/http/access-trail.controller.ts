import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AgencyId, Category, FiscalCode, IsoInstant, OperatorId, TRAIL_ACTIONS, TRAIL_OUTCOMES } from '../../events';
import type { Caller } from '../access/caller';
import { CaseId } from '../case/case-command';
import type { RequestContext } from '../reads/disclosures';
import { ReadAccessTrail, ReadSubjectTrail, type TrailItem } from '../reads/trail-queries';
import { CurrentCaller, Roles } from './access';
import { Cursors } from './cursor';
import { CurrentRequest, Discloses } from './request-context';
import { jsonSchema } from './json-schema';
import { ApiAnswer, ApiErrors, ApiQueryFrom, Page, PageCursor, PageLimit } from './routes';
import { ValidParam, ValidQuery } from './validation';

const TrailQuery = z
  .strictObject({
    scope: z.enum(['by-us', 'of-our-data']).default('by-us'),
    // As the case routes read it: an id in capitals is the same case (the trail keeps ids in lower case).
    caseId: CaseId.optional(),
    operator: z.string().min(1).max(128).optional(),
    from: IsoInstant.optional(),
    to: IsoInstant.optional(),
    limit: PageLimit,
    cursor: PageCursor,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { path: ['to'], message: 'must not be before from' });
const TrailCursor = z.object({ s: z.int().min(1) });
const SubjectQuery = z.strictObject({ limit: PageLimit, cursor: PageCursor });

/** A record as a DPO reads it (src/reads/trail-queries.ts): in `of-our-data`, a reader the DPO may not see is `undisclosed`, with no operator, address, roles, purpose nor basis. */
const TrailItem = z.object({
  id: z.string().max(100),
  at: IsoInstant,
  agency: AgencyId,
  operator: OperatorId.optional(),
  roles: z.array(z.string().max(32)).max(10),
  action: z.enum(TRAIL_ACTIONS),
  caseId: z.string().max(100).meta({ description: 'the case, or "*" for a read of no one case' }),
  categories: z.array(Category).max(4),
  purpose: z.string().max(200),
  basis: z.array(z.string().max(100)).max(100).meta({ description: 'the authorisations or rules that allowed the disclosure' }),
  outcome: z.enum(TRAIL_OUTCOMES),
  ip: z.string().max(64).optional(),
});
const TrailPage = Page(TrailItem);

const CSV_COLUMNS = ['id', 'at', 'agency', 'operator', 'roles', 'action', 'caseId', 'categories', 'purpose', 'basis', 'outcome', 'ip'] as const;

/** The same page as CSV (Accept: text/csv): a header line and one line per record; the next page's cursor in x-next-cursor. */
const CSV_ANSWER = {
  'text/csv': {
    schema: {
      type: 'string',
      // The header line and at most a page of records, each under 16 KiB with the bounds of TrailItem.
      maxLength: 16_384 * 501,
      description: `CSV (RFC 4180, CRLF), columns ${CSV_COLUMNS.join(', ')}`,
    },
  },
};
const TRAIL_ANSWER = {
  description: 'a page of records, newest first; nextCursor (x-next-cursor in CSV) is null (absent) on the last',
  headers: ['x-next-cursor'] as const,
  also: CSV_ANSWER,
};

/**
 * One CSV cell, safe to open in a spreadsheet (OWASP "CSV Injection"): a cell that begins with
 * = + - @, a tab or a carriage return would be read as a formula, so it is prefixed with a single
 * quote, which spreadsheets show as text; any cell with a quote, comma or line break is quoted.
 */
export function csvCell(value: string | readonly string[] | undefined): string {
  let text = typeof value === 'string' ? value : value === undefined ? '' : value.join(' ');
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r']/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(records: readonly TrailItem[]): string {
  return [CSV_COLUMNS.join(','), ...records.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function wantsCsv(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').split(',').some((t) => t.trim().startsWith('text/csv'));
}

/** API.md "DPO": the access trail in the DPO's scope (src/reads/trail-queries.ts), as JSON or CSV. */
@ApiTags('access trail')
@ApiBearerAuth()
@ApiErrors('validation', 'unauthenticated', 'forbidden', 'internal', 'unavailable')
@Controller('v1/access-trail')
export class AccessTrailController {
  constructor(
    private readonly queries: QueryBus,
    @Inject(Cursors) private readonly cursors: Cursors,
  ) {}

  @Get()
  @Roles('dpo')
  @ApiOperation({ summary: "The access trail in the DPO's scope, newest first; Accept: text/csv gives CSV" })
  @ApiQueryFrom(TrailQuery)
  @ApiAnswer(200, TrailPage, TRAIL_ANSWER)
  async list(
    @CurrentCaller() caller: Caller,
    @ValidQuery(TrailQuery) q: z.output<typeof TrailQuery>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const place = ['trail', caller.actor.zone, caller.actor.agency, q.scope];
    const before = q.cursor === undefined ? undefined : this.cursors.open(q.cursor, TrailCursor, place).s;
    const { items, lastSeq } = await this.queries.execute(
      new ReadAccessTrail(caller, { scope: q.scope, caseIds: q.caseId ? [q.caseId] : undefined, operator: q.operator, from: q.from, to: q.to, limit: q.limit, before }),
    );
    const nextCursor = lastSeq === undefined ? null : this.cursors.seal({ s: lastSeq }, place);
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return toCsv(items);
    }
    return { items, nextCursor };
  }

  @Get('subjects/:fiscalCode')
  @Roles('dpo')
  @Discloses('dpo.subject')
  @ApiOperation({ summary: "Every record, in the DPO's scope, about the cases of one person, newest first, a page at a time" })
  @ApiParam({ name: 'fiscalCode', schema: jsonSchema(FiscalCode) })
  @ApiQueryFrom(SubjectQuery)
  @ApiAnswer(200, TrailPage, TRAIL_ANSWER)
  async subject(
    @CurrentCaller() caller: Caller,
    @ValidParam({ name: 'fiscalCode', schema: FiscalCode }) fiscalCode: string,
    @ValidQuery(SubjectQuery) q: z.output<typeof SubjectQuery>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentRequest() context: RequestContext,
  ) {
    const place = ['trail-subject', caller.actor.zone, caller.actor.agency, fiscalCode];
    const before = q.cursor === undefined ? undefined : this.cursors.open(q.cursor, TrailCursor, place).s;
    const { items, lastSeq } = await this.queries.execute(new ReadSubjectTrail(caller, fiscalCode, q.limit, context, before));
    const nextCursor = lastSeq === undefined ? null : this.cursors.seal({ s: lastSeq }, place);
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return toCsv(items);
    }
    return { items, nextCursor };
  }
}
