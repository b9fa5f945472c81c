import { Controller, Get, Inject, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgencyId, CASE_EVENT_TYPES, CASE_STATUSES, type CaseEventType, IsoInstant, Need, OperatorId, Programme, URGENCIES } from '../../events';
import type { Caller } from '../access/caller';
import { CaseId } from '../case/case-command';
import { GetCaseHistory, GetCaseView, ListCases } from '../reads/case-queries';
import type { RequestContext } from '../reads/disclosures';
import { CurrentCaller, Roles } from './access';
import { Cursors } from './cursor';
import { jsonSchema } from './json-schema';
import { CurrentRequest, Discloses } from './request-context';
import { ApiAnswer, ApiErrors, ApiQueryFrom, HEADER_SCHEMAS, Page, PageCursor, PageLimit } from './routes';
import { NoQuery, ValidParam, ValidQuery } from './validation';

const caseIdParam = { name: 'id', schema: CaseId };

const CaseStatus = z.enum(CASE_STATUSES);

export const ListCasesQuery = z.strictObject({
  status: CaseStatus.optional(),
  limit: PageLimit,
  cursor: PageCursor,
});

const CaseListItem = z.object({
  caseId: z.uuid(),
  status: CaseStatus,
  openedAt: IsoInstant,
  updatedAt: IsoInstant,
  person: z.object({ givenName: z.string().max(100), familyName: z.string().max(100) }).optional(),
});
const CaseList = Page(CaseListItem);
const ListCursor = z.object({ o: z.string(), c: z.string() });

/** Something the policy shows in part (projections/policy): its fields are those the caller may see. */
const Shown = (description: string) => z.looseObject({}).meta({ description });

/**
 * One agency's view of a case (projections/policy/case-view.ts): the fields every view has, and
 * those the policy shows where they are visible, absent otherwise. What a view holds within
 * them (and members, consents, decisions, verifications, nonCompliance, outcomes and notes,
 * arrays as long as the case's ledger) is the policy's to decide: it is left open.
 */
export const CaseView = z
  .looseObject({
    caseId: z.uuid(),
    status: CaseStatus,
    revision: z.int().min(0),
    openedAt: IsoInstant,
    updatedAt: IsoInstant,
    erased: z.literal(true).optional().meta({ description: "the case's person was erased: no personal datum is left in the view" }),
    referrer: AgencyId.optional(),
    person: Shown('the person, the fields the caller may see').optional(),
    needs: z.array(Need).max(12).optional(),
    programmes: z.array(Programme).max(12).optional(),
    urgency: z.enum(URGENCIES).optional(),
    caseManager: z.object({ agency: AgencyId, operator: OperatorId }).partial().optional(),
    prevalentNeed: Need.optional(),
    takenInChargeAt: IsoInstant.optional(),
    plan: Shown('the revisions of the plan').optional(),
    closure: Shown('why, when and by whom the case was closed').optional(),
  })
  .meta({ description: 'the view; what is not visible to the caller is absent, not masked' });

/**
 * Not a limit the service sets: the history is not paged (API.md "Case reads"), and the OpenAPI
 * rules want a bound on every array. A case's ledger stays far below it.
 */
const UNPAGED_HISTORY = 100_000;
const CaseHistory = z.object({
  items: z
    .array(
      z.object({
        position: z
          .string()
          .max(41)
          .regex(/^\d{1,20}(?:\/\d{1,20})?$/),
        type: z.enum(CASE_EVENT_TYPES as [CaseEventType, ...CaseEventType[]]),
        at: IsoInstant,
        agency: AgencyId.optional(),
        operator: OperatorId.optional(),
        data: Shown('the data of the entry, cut to what the caller may see'),
      }),
    )
    .max(UNPAGED_HISTORY),
});

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
  constructor(
    private readonly queries: QueryBus,
    @Inject(Cursors) private readonly cursors: Cursors,
  ) {}

  @Get()
  @Roles('operator')
  @Discloses('case.list')
  @ApiOperation({ summary: 'The cases that exist for the caller, the latest opened first (an order no update moves, so a walk through the pages misses none)' })
  @ApiQueryFrom(ListCasesQuery)
  @ApiAnswer(200, CaseList, { description: 'a page of cases; nextCursor is null on the last' })
  async list(@CurrentCaller() caller: Caller, @ValidQuery(ListCasesQuery) query: z.output<typeof ListCasesQuery>, @CurrentRequest() request: RequestContext) {
    const place = ['cases', caller.actor.zone, caller.actor.agency];
    const after = query.cursor === undefined ? undefined : this.cursors.open(query.cursor, ListCursor, place);
    const rows = await this.queries.execute(new ListCases(caller, { status: query.status, limit: query.limit, after: after && { openedAt: after.o, caseId: after.c } }, request));
    const last = rows[rows.length - 1];
    return {
      items: rows.map(({ disclosure: _d, ...item }) => item),
      nextCursor: rows.length === query.limit && last ? this.cursors.seal({ o: last.openedAt, c: last.caseId }, place) : null,
    };
  }

  @Get(':id')
  @Roles('operator')
  @Discloses('case.read')
  @ApiOperation({ summary: "The caller's view of a case: what is not visible is absent" })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  @ApiAnswer(200, CaseView, { description: 'the view; ETag is its revision', headers: ['ETag'] })
  async read(
    @CurrentCaller() caller: Caller,
    @ValidParam(caseIdParam) caseId: string,
    @NoQuery() _query: object,
    @CurrentRequest() request: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { view, revision } = await this.queries.execute(new GetCaseView(caller, caseId, request));
    void reply.header('etag', `"${revision}"`);
    return view;
  }

  @Get(':id/history')
  @Roles('operator')
  @Discloses('case.history')
  @ApiOperation({ summary: 'The entries of the case with anything visible to the caller, their data cut to what is visible' })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  @ApiAnswer(200, CaseHistory, { description: 'the entries, oldest first' })
  history(@CurrentCaller() caller: Caller, @ValidParam(caseIdParam) caseId: string, @NoQuery() _query: object, @CurrentRequest() request: RequestContext) {
    return this.queries.execute(new GetCaseHistory(caller, caseId, request));
  }
}
