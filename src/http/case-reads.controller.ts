import { Controller, Get, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { IsoInstant } from '../../events';
import type { Caller } from '../access/caller';
import { CaseId } from '../case/case-command';
import { GetCaseHistory, GetCaseView, ListCases } from '../reads/case-queries';
import type { RequestContext } from '../reads/disclosures';
import { CurrentCaller, Roles } from './access';
import { decodeCursor, encodeCursor } from './cursor';
import { jsonSchema } from './json-schema';
import { CurrentRequest, Discloses } from './request-context';
import { ApiErrors, ApiQueryFrom, HEADER_SCHEMAS } from './routes';
import { ValidParam, ValidQuery } from './validation';

const caseIdParam = { name: 'id', schema: CaseId };

export const ListCasesQuery = z.strictObject({
  status: z.enum(['referred', 'in-charge', 'plan-active', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
});

const CaseListItem = z.object({
  caseId: z.uuid(),
  status: z.enum(['referred', 'in-charge', 'plan-active', 'closed']),
  openedAt: IsoInstant,
  updatedAt: IsoInstant,
  person: z.object({ givenName: z.string().max(100), familyName: z.string().max(100) }).optional(),
});
const CaseList = z.object({
  items: z.array(CaseListItem).max(500),
  nextCursor: z
    .string()
    .max(500)
    .regex(/^[A-Za-z0-9_-]+$/)
    .nullable(),
});
const ListCursor = z.object({ u: z.string(), c: z.string() });

/**
 * API.md "Case reads": each route puts a query on the QueryBus with the caller (the one handle
 * on its agency's views); the query's handler answers with the caller's own view, recorded on
 * the access trail before it leaves (src/reads/case-queries.ts).
 */
@ApiTags('case reads')
@ApiErrors('validation', 'unauthenticated', 'forbidden', 'not-found', 'internal', 'unavailable')
@ApiBearerAuth()
@ApiHeader({ name: 'X-Purpose', required: false, schema: HEADER_SCHEMAS['X-Purpose'], description: 'why the data is read; written to the access trail (default: case-management)' })
@Controller('v1/cases')
export class CaseReadsController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('operator')
  @Discloses('case.list')
  @ApiOperation({ summary: 'The cases that exist for the caller, most recently updated first' })
  @ApiQueryFrom(ListCasesQuery)
  @ApiResponse({ status: 200, schema: jsonSchema(CaseList, 'output') })
  async list(@CurrentCaller() caller: Caller, @ValidQuery(ListCasesQuery) query: z.output<typeof ListCasesQuery>, @CurrentRequest() request: RequestContext) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ListCursor);
    const rows = await this.queries.execute(new ListCases(caller, { status: query.status, limit: query.limit, after: after && { updatedAt: after.u, caseId: after.c } }, request));
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
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  @ApiResponse({ status: 200, description: 'the view; ETag is its revision' })
  async read(@CurrentCaller() caller: Caller, @ValidParam(caseIdParam) caseId: string, @CurrentRequest() request: RequestContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { view, revision } = await this.queries.execute(new GetCaseView(caller, caseId, request));
    void reply.header('etag', `"${revision}"`);
    return view;
  }

  @Get(':id/history')
  @Roles('operator')
  @Discloses('case.history')
  @ApiOperation({ summary: 'The entries of the case with anything visible to the caller, their data cut to what is visible' })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  history(@CurrentCaller() caller: Caller, @ValidParam(caseIdParam) caseId: string, @CurrentRequest() request: RequestContext) {
    return this.queries.execute(new GetCaseHistory(caller, caseId, request));
  }
}
