import { Controller, Get, HttpCode, Post, UseInterceptors } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AgencyId, IsoInstant, ZoneId } from '../../events';
import { VERIFY_REASONS, type VerifyReason } from '../audit/verify-ledger';
import type { Caller } from '../access/caller';
import type { AuditEvent } from '../audit/audit';
import { CaseId } from '../case/case-command';
import { AuditRead, GetCaseAsOf } from '../reads/audit-queries';
import type { RequestContext } from '../reads/disclosures';
import { CurrentCaller, Roles } from './access';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { jsonSchema } from './json-schema';
import { CurrentRequest, Discloses } from './request-context';
import { ApiErrors, ApiQueryFrom, HEADER_SCHEMAS } from './routes';
import { ValidParam, ValidQuery } from './validation';

/** A ledger position or tree size as a query parameter: a whole number, in the safe range. */
const Count = (min: number) => z.coerce.number().int().min(min).max(Number.MAX_SAFE_INTEGER);

const EventsQuery = z.strictObject({ after: Count(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) });
const CheckpointsQuery = z.strictObject({ after: Count(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) });
const InclusionQuery = z.strictObject({ position: Count(1), treeSize: Count(1).optional() });
const ConsistencyQuery = z
  .strictObject({ from: Count(1), to: Count(1).optional() })
  .refine((q) => q.to === undefined || q.from <= q.to, { path: ['to'], message: 'must not be less than from' });
const AsOfQuery = z.strictObject({ agency: AgencyId, asOf: IsoInstant });

const Checkpoint = z.object({
  zone: ZoneId,
  size: z.int().min(0),
  root: z.base64().max(44),
  at: IsoInstant,
  keyId: z
    .string()
    .max(16)
    .regex(/^[0-9a-f]{16}$/),
  signature: z.base64().max(88),
});
const Report = z.object({
  ok: z.boolean(),
  eventsChecked: z.int(),
  checkpointsChecked: z.int(),
  firstInvalidPosition: z.int().optional(),
  reason: z.enum(Object.keys(VERIFY_REASONS) as [VerifyReason, ...VerifyReason[]]).optional(),
  detail: z.string().max(500).optional(),
  zone: ZoneId.optional(),
  checkpoint: z.object({ size: z.int().min(0), at: IsoInstant }).optional(),
});

/**
 * API.md "Auditor": the zone's ledger without personal data, its verification, signed
 * checkpoints and their keys, Merkle proofs, and any agency's view of a case as of an instant.
 * The zone is the token's; each read is on the access trail (src/reads/audit-queries.ts).
 */
@ApiTags('auditors')
@ApiBearerAuth()
@ApiErrors('validation', 'unauthenticated', 'forbidden', 'not-found', 'internal', 'unavailable')
@ApiHeader({ name: 'X-Purpose', required: false, schema: HEADER_SCHEMAS['X-Purpose'], description: 'why; written to the access trail' })
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly queries: QueryBus) {}

  private read<T>(caller: Caller, action: AuditRead<T>['action'], request: RequestContext, read: AuditRead<T>['read']): Promise<T> {
    return this.queries.execute(new AuditRead(caller, action, request, read));
  }

  @Get('events')
  @Roles('auditor')
  @Discloses('audit.events')
  @ApiOperation({ summary: "The zone's ledger in order, without personal data: who, what, when, the categories sealed, each event's leaf hash and the one before it" })
  @ApiQueryFrom(EventsQuery)
  async events(@CurrentCaller() caller: Caller, @ValidQuery(EventsQuery) q: z.output<typeof EventsQuery>, @CurrentRequest() request: RequestContext) {
    const page: { items: AuditEvent[]; next?: number } = await this.read(caller, 'audit.events', request, (audit, zone) => audit.events(zone, q.after, q.limit));
    return { items: page.items, nextCursor: page.next === undefined ? null : String(page.next) };
  }

  @Get('verify')
  @Roles('auditor')
  @Discloses('audit.verify')
  @ApiOperation({ summary: "Recomputes every leaf and the zone's tree from the stored events and checks every checkpoint signature; the first invalid position and why" })
  @ApiResponse({ status: 200, schema: jsonSchema(Report, 'output') })
  verify(@CurrentCaller() caller: Caller, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.verify', request, (audit, zone) => audit.verify(zone));
  }

  @Get('cases/:id/view')
  @Roles('auditor')
  @Discloses('case.read-as-of')
  @ApiOperation({ summary: "The view that agency had of the case as of that instant: the policy of the live views on the case's events and the protocol as they stood then" })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  @ApiQueryFrom(AsOfQuery)
  asOf(
    @CurrentCaller() caller: Caller,
    @ValidParam({ name: 'id', schema: CaseId }) caseId: string,
    @ValidQuery(AsOfQuery) q: z.output<typeof AsOfQuery>,
    @CurrentRequest() request: RequestContext,
  ) {
    return this.queries.execute(new GetCaseAsOf(caller, caseId, q.agency, q.asOf, request));
  }

  @Get('checkpoints')
  @Roles('auditor')
  @Discloses('audit.checkpoints')
  @ApiOperation({ summary: "The zone's signed checkpoints of more than `after` events, smallest first" })
  @ApiQueryFrom(CheckpointsQuery)
  @ApiResponse({ status: 200, schema: jsonSchema(z.object({ items: z.array(Checkpoint).max(1000) }), 'output') })
  async checkpoints(@CurrentCaller() caller: Caller, @ValidQuery(CheckpointsQuery) q: z.output<typeof CheckpointsQuery>, @CurrentRequest() request: RequestContext) {
    return { items: await this.read(caller, 'audit.checkpoints', request, (audit, zone) => audit.checkpointsAfter(zone, q.after, q.limit)) };
  }

  @Post('checkpoints')
  @HttpCode(201)
  @Roles('auditor')
  @Discloses('audit.checkpoint')
  // API.md "Conventions": Idempotency-Key on any POST.
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: "Signs a checkpoint of the zone's ledger as it is now" })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: HEADER_SCHEMAS['Idempotency-Key'],
    description: 'a repeat with the same key within 24 h returns the first checkpoint and signs nothing',
  })
  @ApiResponse({ status: 201, schema: jsonSchema(Checkpoint, 'output') })
  sign(@CurrentCaller() caller: Caller, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.checkpoint', request, (audit, zone) => audit.checkpoint(zone));
  }

  @Get('keys')
  @Roles('auditor')
  @Discloses('audit.keys')
  @ApiOperation({ summary: 'Every key that signs checkpoints, with its id: raw 32-byte Ed25519 public keys, base64; the signed bytes are in the README' })
  async keys(@CurrentCaller() caller: Caller, @CurrentRequest() request: RequestContext) {
    return { keys: await this.read(caller, 'audit.keys', request, (audit) => audit.keys()) };
  }

  @Get('proofs/inclusion')
  @Roles('auditor')
  @Discloses('audit.proof')
  @ApiOperation({ summary: 'The inclusion proof of the event at a ledger position in the tree of `treeSize` leaves (default: the whole log)' })
  @ApiQueryFrom(InclusionQuery)
  inclusion(@CurrentCaller() caller: Caller, @ValidQuery(InclusionQuery) q: z.output<typeof InclusionQuery>, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.proof', request, (audit, zone) => audit.inclusion(zone, q.position, q.treeSize));
  }

  @Get('proofs/consistency')
  @Roles('auditor')
  @Discloses('audit.proof')
  @ApiOperation({ summary: 'The consistency proof between the trees of `from` and `to` leaves (default: the whole log)' })
  @ApiQueryFrom(ConsistencyQuery)
  consistency(@CurrentCaller() caller: Caller, @ValidQuery(ConsistencyQuery) q: z.output<typeof ConsistencyQuery>, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.proof', request, (audit, zone) => audit.consistency(zone, q.from, q.to));
  }
}
