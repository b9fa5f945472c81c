import { Controller, Get, Inject, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { NotFound } from '../errors';
import { type AgencyViews, type AuthenticatedActor } from '../reads/agency-views';
import { GetCaseHistory, GetCaseView, ListCases } from '../reads/case-queries';
import type { Disclosures, RequestContext } from '../reads/disclosures';
import type { ReadBarrier } from '../reads/read-barrier';
import { CurrentActor, Roles } from './access';
import { decodeCursor, encodeCursor } from './cursor';
import { AGENCY_VIEWS, DISCLOSURES, READ_BARRIER } from './injection-tokens';
import { jsonSchema } from './json-schema';
import { CurrentRequest, Discloses } from './request-context';
import { ValidParam, ValidQuery } from './validation';

const CaseId = z.uuid({ error: 'must be a case id (UUID)' });
const caseIdParam = { name: 'id', schema: CaseId };

export const ListCasesQuery = z.strictObject({
  status: z.enum(['referred', 'in-charge', 'plan-active', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
});

const CaseListItem = z.object({
  caseId: z.uuid(),
  status: z.string(),
  openedAt: z.string(),
  updatedAt: z.string(),
  person: z.object({ givenName: z.string(), familyName: z.string() }).optional(),
});
const CaseList = z.object({ items: z.array(CaseListItem), nextCursor: z.string().nullable() });
const ListCursor = z.object({ u: z.string(), c: z.string() });

/** API.md "Case reads": every answer is the caller's own view, and on the access trail before it leaves. */
@ApiTags('case reads')
@ApiBearerAuth()
@ApiHeader({ name: 'X-Purpose', required: false, description: 'why the data is read; written to the access trail (default: case-management)' })
@Controller('v1/cases')
export class CaseReadsController {
  constructor(
    private readonly queries: QueryBus,
    @Inject(AGENCY_VIEWS) private readonly views: AgencyViews,
    @Inject(READ_BARRIER) private readonly barrier: ReadBarrier,
    @Inject(DISCLOSURES) private readonly disclosures: Disclosures,
  ) {}

  @Get()
  @Roles('operator')
  @Discloses('case.list')
  @ApiOperation({ summary: 'The cases that exist for the caller, most recently updated first' })
  @ApiQuery({ name: 'status', required: false, schema: jsonSchema(ListCasesQuery.shape.status) as never })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiResponse({ status: 200, schema: jsonSchema(CaseList, 'output') as never })
  async list(@CurrentActor() actor: AuthenticatedActor, @ValidQuery(ListCasesQuery) query: z.output<typeof ListCasesQuery>, @CurrentRequest() request: RequestContext) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ListCursor);
    await this.barrier.pass();
    const rows = await this.queries.execute(new ListCases(this.views.of(actor), { status: query.status, limit: query.limit, after: after && { updatedAt: after.u, caseId: after.c } }));
    await this.disclosures.record(
      actor,
      'case.list',
      rows.map((row) => ({ caseId: row.caseId, outcome: 'disclosed', disclosure: row.disclosure })),
      request,
    );
    const last = rows[rows.length - 1];
    return {
      items: rows.map(({ disclosure: _d, ...item }) => item),
      nextCursor: rows.length === query.limit && last ? encodeCursor({ u: last.updatedAt, c: last.caseId }) : null,
    };
  }

  @Get(':id')
  @Roles('operator')
  @Discloses('case.read')
  @ApiOperation({ summary: "The caller's view of a case: what is not visible is absent" })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) as never })
  @ApiResponse({ status: 200, description: 'the view; ETag is its revision' })
  @ApiResponse({ status: 404, description: 'no such case for the caller (the same whether it exists or not)' })
  async read(
    @CurrentActor() actor: AuthenticatedActor,
    @ValidParam(caseIdParam) caseId: string,
    @CurrentRequest() request: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.barrier.pass();
    const row = await this.queries.execute(new GetCaseView(this.views.of(actor), caseId));
    if (!row) {
      await this.disclosures.record(actor, 'case.read', [{ caseId, outcome: 'not-found' }], request);
      throw new NotFound('no such case');
    }
    await this.disclosures.record(actor, 'case.read', [{ caseId, outcome: 'disclosed', disclosure: row.disclosure }], request);
    void reply.header('etag', `"${row.revision}"`);
    return row.view;
  }

  @Get(':id/history')
  @Roles('operator')
  @Discloses('case.history')
  @ApiOperation({ summary: 'The entries of the case with anything visible to the caller, their data cut to what is visible' })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) as never })
  async history(@CurrentActor() actor: AuthenticatedActor, @ValidParam(caseIdParam) caseId: string, @CurrentRequest() request: RequestContext) {
    await this.barrier.pass();
    const history = await this.queries.execute(new GetCaseHistory(this.views.of(actor), caseId));
    if (!history) {
      await this.disclosures.record(actor, 'case.history', [{ caseId, outcome: 'not-found' }], request);
      throw new NotFound('no such case');
    }
    await this.disclosures.record(actor, 'case.history', [{ caseId, outcome: 'disclosed', disclosure: history.disclosure }], request);
    return { items: history.items };
  }
}
