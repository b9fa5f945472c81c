import { Controller, Get, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FiscalCode, IsoInstant } from '../../events';
import type { Caller } from '../access/caller';
import { ReadAccessTrail, ReadSubjectTrail, type TrailItem } from '../reads/trail-queries';
import { CurrentCaller, Roles } from './access';
import { decodeCursor, encodeCursor } from './cursor';
import { jsonSchema } from './json-schema';
import { ApiErrors, ApiQueryFrom } from './routes';
import { ValidParam, ValidQuery } from './validation';

const TrailQuery = z.strictObject({
  scope: z.enum(['by-us', 'of-our-data']).default('by-us'),
  caseId: z.uuid().optional(),
  operator: z.string().min(1).max(128).optional(),
  from: IsoInstant.optional(),
  to: IsoInstant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(100).optional(),
});
const TrailCursor = z.object({ s: z.int().min(1) });
const SubjectQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(100).optional(),
});

const CSV_COLUMNS = ['id', 'at', 'agency', 'operator', 'roles', 'action', 'caseId', 'categories', 'purpose', 'basis', 'outcome', 'ip'] as const;

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
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('dpo')
  @ApiOperation({ summary: "The access trail in the DPO's scope, newest first; Accept: text/csv gives CSV" })
  @ApiQueryFrom(TrailQuery)
  async list(
    @CurrentCaller() caller: Caller,
    @ValidQuery(TrailQuery) q: z.output<typeof TrailQuery>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor, TrailCursor).s;
    const { items, lastSeq } = await this.queries.execute(
      new ReadAccessTrail(caller, { scope: q.scope, caseIds: q.caseId ? [q.caseId] : undefined, operator: q.operator, from: q.from, to: q.to, limit: q.limit, before }),
    );
    const nextCursor = lastSeq === undefined ? null : encodeCursor({ s: lastSeq });
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return toCsv(items);
    }
    return { items, nextCursor };
  }

  @Get('subjects/:fiscalCode')
  @Roles('dpo')
  @ApiOperation({ summary: "Every record, in the DPO's scope, about the cases of one person, newest first, a page at a time" })
  @ApiParam({ name: 'fiscalCode', schema: jsonSchema(FiscalCode) })
  @ApiQueryFrom(SubjectQuery)
  async subject(
    @CurrentCaller() caller: Caller,
    @ValidParam({ name: 'fiscalCode', schema: FiscalCode }) fiscalCode: string,
    @ValidQuery(SubjectQuery) q: z.output<typeof SubjectQuery>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor, TrailCursor).s;
    const { items, lastSeq } = await this.queries.execute(new ReadSubjectTrail(caller, fiscalCode, q.limit, before));
    const nextCursor = lastSeq === undefined ? null : encodeCursor({ s: lastSeq });
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return toCsv(items);
    }
    return { items, nextCursor };
  }
}
