import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FiscalCode, IsoInstant } from '../../events';
import type { ReadModels, TrailRecord } from '../../projections/read-models';
import type { Actor } from '../access/actor';
import type { ReadBarrier } from '../reads/read-barrier';
import { CurrentActor, Roles } from './access';
import { decodeCursor, encodeCursor } from './cursor';
import { READ_BARRIER, READ_MODELS } from './injection-tokens';
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

const CSV_COLUMNS = ['id', 'at', 'agency', 'operator', 'roles', 'action', 'caseId', 'categories', 'purpose', 'basis', 'outcome', 'ip'] as const;

function csvCell(value: unknown): string {
  const text = Array.isArray(value) ? value.join(' ') : value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) || /^[=+\-@\t]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(records: readonly TrailRecord[]): string {
  return [CSV_COLUMNS.join(','), ...records.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function wantsCsv(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').split(',').some((t) => t.trim().startsWith('text/csv'));
}

/**
 * API.md "DPO": each agency's DPO reads the records made by its own operators (`by-us`) and
 * those in which its agency's data was disclosed to anyone (`of-our-data`), never case content.
 */
@ApiTags('access trail')
@ApiBearerAuth()
@Controller('v1/access-trail')
export class AccessTrailController {
  constructor(
    @Inject(READ_MODELS) private readonly models: ReadModels,
    @Inject(READ_BARRIER) private readonly barrier: ReadBarrier,
  ) {}

  @Get()
  @Roles('dpo')
  @ApiOperation({ summary: "The access trail in the DPO's scope, newest first; Accept: text/csv gives CSV" })
  @ApiQuery({ name: 'scope', required: false, enum: ['by-us', 'of-our-data'] })
  @ApiQuery({ name: 'caseId', required: false })
  @ApiQuery({ name: 'operator', required: false })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  async list(@CurrentActor() actor: Actor, @ValidQuery(TrailQuery) q: z.output<typeof TrailQuery>, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.barrier.pass({ everything: true });
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor, TrailCursor).s;
    const records = this.models.trail.query(actor, { scope: q.scope, caseIds: q.caseId ? [q.caseId] : undefined, operator: q.operator, from: q.from, to: q.to, limit: q.limit, before });
    const last = records[records.length - 1];
    const nextCursor = records.length === q.limit && last ? encodeCursor({ s: last.seq }) : null;
    const items = records.map(({ seq: _seq, ...r }) => r);
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      if (nextCursor) void reply.header('x-next-cursor', nextCursor);
      return toCsv(items);
    }
    return { items, nextCursor };
  }

  @Get('subjects/:fiscalCode')
  @Roles('dpo')
  @ApiOperation({ summary: "Every record, in the DPO's scope, about the cases of one person" })
  @ApiParam({ name: 'fiscalCode', schema: { type: 'string' } })
  async subject(@CurrentActor() actor: Actor, @ValidParam({ name: 'fiscalCode', schema: FiscalCode }) fiscalCode: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.barrier.pass({ everything: true });
    const caseIds = this.models.index.casesOfPerson(actor.zone, fiscalCode);
    const seen = new Map<string, TrailRecord>();
    if (caseIds.length > 0) {
      for (const scope of ['by-us', 'of-our-data'] as const) {
        for (const { seq: _seq, ...record } of this.models.trail.query(actor, { scope, caseIds, limit: 100_000 })) seen.set(record.id, record);
      }
    }
    const items = [...seen.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    if (wantsCsv(request)) {
      void reply.type('text/csv; charset=utf-8');
      return toCsv(items);
    }
    return { items };
  }
}
