import { Controller, Get, HttpCode, Inject, Post, Req, Res, SetMetadata } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgencyId, CATEGORIES, IsoInstant, OperatorId, ZoneId } from '../../events';
import { VERIFY_REASONS, type VerifyReason } from '../audit/verify-ledger';
import type { Caller } from '../access/caller';
import type { AuditEvent } from '../audit/audit';
import { CaseId } from '../case/case-command';
import { AuditRead, GetCaseAsOf } from '../reads/audit-queries';
import type { RequestContext } from '../reads/disclosures';
import { type AuthenticatedRequest, CurrentCaller, Roles } from './access';
import { CaseView } from './case-reads.controller';
import { Cursors } from './cursor';
import { IdempotentRequests } from './idempotent-requests';
import { jsonSchema } from './json-schema';
import { CurrentRequest, Discloses } from './request-context';
import { ApiAnswer, ApiErrors, ApiQueryFrom, HEADER_SCHEMAS, Page, PageCursor, PageLimit } from './routes';
import { BODY_SCHEMA, NoQuery, ValidBody, ValidParam, ValidQuery } from './validation';

/** A ledger position or tree size as a query parameter: a whole number, in the safe range. */
const Count = (min: number) => z.coerce.number().int().min(min).max(Number.MAX_SAFE_INTEGER);

/**
 * API.md "Conventions" and "Auditor": a list pages with `limit` (default 50, max 500) and the
 * opaque `cursor` of the page before; `after` (a ledger position, a tree size) still starts a
 * list where the caller wants. One or the other.
 */
const oneStart = { path: ['cursor'], message: 'give after or cursor, not both' };
const EventsQuery = z.strictObject({ after: Count(0).optional(), limit: PageLimit, cursor: PageCursor }).refine((q) => q.after === undefined || q.cursor === undefined, oneStart);
const CheckpointsQuery = z
  .strictObject({ after: Count(0).optional(), limit: PageLimit, cursor: PageCursor })
  .refine((q) => q.after === undefined || q.cursor === undefined, oneStart);
/** Events after this ledger position. */
const EventsCursor = z.object({ p: z.int().min(0).max(Number.MAX_SAFE_INTEGER) });
/**
 * Checkpoints from size `s` on, less the first `k` of that size, already listed: several
 * checkpoints may sign one size (the log had not grown), so a size alone is not a place to
 * continue from. Checkpoints are listed by size, then in the order they were signed, and a new
 * one is never signed at a size smaller than the log's: a page ends where the next begins.
 */
/** A checkpoint is asked for with no body (or `{}`): anything in it is a 400, as on every route (API.md "Conventions"). */
const NoBody = z.strictObject({});
const CheckpointsCursor = z.object({ s: z.int().min(0).max(Number.MAX_SAFE_INTEGER), k: z.int().min(1).max(1_000_000) });
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
const Base64Hash = z.base64().max(44);
/** A Merkle audit path: one hash per level of the tree, at most 64 for any size of log (RFC 9162). */
const AuditPath = z.array(Base64Hash).max(64);

/** An event as auditors read it (src/audit/audit.ts AuditEvent): no personal data. */
const LedgerEvent = z.object({
  position: z.int().min(1),
  stream: z
    .string()
    .max(200)
    .regex(/^[a-z]+-[a-z0-9-]+(?:\.[A-Za-z0-9._-]+)?$/),
  type: z
    .string()
    .max(64)
    .regex(/^[A-Z][A-Za-z0-9]{0,63}$/),
  at: IsoInstant,
  agency: AgencyId,
  operator: OperatorId,
  categories: z.array(z.enum(CATEGORIES)).max(CATEGORIES.length),
  leafIdx: z.int().min(0).nullable(),
  hash: Base64Hash,
  prevHash: Base64Hash.nullable(),
});
const SigningKeys = z.object({
  keys: z
    .array(
      z.object({
        keyId: Checkpoint.shape.keyId,
        alg: z.literal('Ed25519'),
        publicKey: z.base64().max(44),
        createdAt: IsoInstant,
        active: z.boolean(),
      }),
    )
    // Not a limit the service sets: a key is added only when an operator rotates it (OPERATIONS.md).
    .max(1000),
});
const InclusionProof = z.object({ leafIdx: z.int().min(0), treeSize: z.int().min(1), leafHash: Base64Hash, proof: AuditPath, root: Base64Hash });
/** A consistency proof is at most about twice as long as an audit path (RFC 9162 2.1.4). */
const ConsistencyProof = z.object({ size1: z.int().min(1), size2: z.int().min(1), root1: Base64Hash, root2: Base64Hash, proof: z.array(Base64Hash).max(128) });

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
  constructor(
    private readonly queries: QueryBus,
    @Inject(Cursors) private readonly cursors: Cursors,
    @Inject(IdempotentRequests) private readonly idempotency: IdempotentRequests,
  ) {}

  private read<T>(caller: Caller, action: AuditRead<T>['action'], request: RequestContext, read: AuditRead<T>['read'], disclosed?: AuditRead<T>['disclosed']): Promise<T> {
    return this.queries.execute(new AuditRead(caller, action, request, read, disclosed));
  }

  @Get('events')
  @Roles('auditor')
  @Discloses('audit.events')
  @ApiOperation({ summary: "The zone's ledger in order, without personal data: who, what, when, the categories sealed, each event's leaf hash and the one before it" })
  @ApiQueryFrom(EventsQuery)
  @ApiAnswer(200, Page(LedgerEvent), { description: 'a page of events; nextCursor is null on the last' })
  async events(@CurrentCaller() caller: Caller, @ValidQuery(EventsQuery) q: z.output<typeof EventsQuery>, @CurrentRequest() request: RequestContext) {
    const place = ['audit-events', caller.actor.zone];
    const after = q.cursor === undefined ? (q.after ?? 0) : this.cursors.open(q.cursor, EventsCursor, place).p;
    // One more than the page, so that the last page says it is the last.
    // Each case of the page is on the trail too: who wrote on it, and what categories, is its data.
    const read: { items: AuditEvent[] } = await this.read(
      caller,
      'audit.events',
      request,
      (audit, zone) => audit.events(zone, after, q.limit + 1),
      (result, audit, zone) => audit.eventDisclosures(zone, result.items.slice(0, q.limit)),
    );
    const items = read.items.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: read.items.length > q.limit && last ? this.cursors.seal({ p: last.position }, place) : null };
  }

  @Get('verify')
  @Roles('auditor')
  @Discloses('audit.verify')
  @ApiOperation({ summary: "Recomputes every leaf and the zone's tree from the stored events and checks every checkpoint signature; the first invalid position and why" })
  @ApiAnswer(200, Report, { description: 'the report' })
  verify(@CurrentCaller() caller: Caller, @NoQuery() _query: object, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.verify', request, (audit, zone) => audit.verify(zone));
  }

  @Get('cases/:id/view')
  @Roles('auditor')
  @Discloses('case.read-as-of')
  @ApiOperation({ summary: "The view that agency had of the case as of that instant: the policy of the live views on the case's events and the protocol as they stood then" })
  @ApiParam({ name: 'id', schema: jsonSchema(CaseId) })
  @ApiQueryFrom(AsOfQuery)
  @ApiAnswer(200, CaseView, { description: 'the view, as GET /v1/cases/{id} gave it to that agency then' })
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
  @ApiOperation({ summary: "The zone's signed checkpoints of more than `after` events (or from the cursor on), smallest first, in the order signed" })
  @ApiQueryFrom(CheckpointsQuery)
  @ApiAnswer(200, Page(Checkpoint), { description: 'a page of checkpoints; nextCursor is null on the last' })
  async checkpoints(@CurrentCaller() caller: Caller, @ValidQuery(CheckpointsQuery) q: z.output<typeof CheckpointsQuery>, @CurrentRequest() request: RequestContext) {
    const place = ['audit-checkpoints', caller.actor.zone];
    const cursor = q.cursor === undefined ? undefined : this.cursors.open(q.cursor, CheckpointsCursor, place);
    const above = cursor ? cursor.s - 1 : (q.after ?? 0);
    const skip = cursor?.k ?? 0;
    // One more than the page, so that the last page says it is the last.
    const read = await this.read(caller, 'audit.checkpoints', request, (audit, zone) => audit.checkpointsAfter(zone, above, skip + q.limit + 1));
    const items = read.slice(skip, skip + q.limit);
    const last = items[items.length - 1];
    if (read.length <= skip + q.limit || !last) return { items, nextCursor: null };
    // Every checkpoint of the last one's size is in `read` from the first on (its size is more than `above`).
    const k = read.slice(0, skip + q.limit).filter((c) => c.size === last.size).length;
    return { items, nextCursor: this.cursors.seal({ s: last.size, k }, place) };
  }

  @Post('checkpoints')
  @HttpCode(201)
  @Roles('auditor')
  @Discloses('audit.checkpoint')
  @ApiOperation({ summary: "Signs a checkpoint of the zone's ledger as it is now" })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: HEADER_SCHEMAS['Idempotency-Key'],
    description:
      'a repeat with the same key within 24 h returns the first checkpoint and signs nothing, after a crash too; on another instance (EventStoreDB mode, each instance keeps its own checkpoints) it signs a checkpoint of the ledger as it is then (a second checkpoint is harmless: each is verified on its own)',
  })
  @SetMetadata(BODY_SCHEMA, NoBody)
  @ApiBody({ required: false, schema: jsonSchema(NoBody) as never })
  @ApiAnswer(201, Checkpoint, { description: 'the checkpoint signed (or, on a repeat, the first one)', headers: ['Idempotent-Replayed'] })
  sign(
    @CurrentCaller() caller: Caller,
    @ValidBody() _body: z.output<typeof NoBody>,
    @CurrentRequest() request: RequestContext,
    @Req() http: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    // API.md "Conventions": Idempotency-Key on any POST; a repeat signs nothing and answers the first checkpoint.
    // A repeat answers the first checkpoint again: an auditor's read like the first, on the trail as the first was.
    return this.idempotency.run(
      http,
      reply,
      (commandId) => this.read(caller, 'audit.checkpoint', request, (audit, zone) => audit.checkpoint(zone, commandId)),
      async () => {
        await this.read(caller, 'audit.checkpoint', request, async () => undefined);
      },
    );
  }

  @Get('keys')
  @Roles('auditor')
  @Discloses('audit.keys')
  @ApiOperation({ summary: 'Every key that signs checkpoints, with its id: raw 32-byte Ed25519 public keys, base64; the signed bytes are in the README' })
  @ApiAnswer(200, SigningKeys, { description: 'the keys, oldest first' })
  async keys(@CurrentCaller() caller: Caller, @NoQuery() _query: object, @CurrentRequest() request: RequestContext) {
    return { keys: await this.read(caller, 'audit.keys', request, (audit) => audit.keys()) };
  }

  @Get('proofs/inclusion')
  @Roles('auditor')
  @Discloses('audit.proof')
  @ApiOperation({ summary: 'The inclusion proof of the event at a ledger position in the tree of `treeSize` leaves (default: the whole log)' })
  @ApiQueryFrom(InclusionQuery)
  @ApiAnswer(200, InclusionProof, { description: 'the proof; hashes in base64' })
  inclusion(@CurrentCaller() caller: Caller, @ValidQuery(InclusionQuery) q: z.output<typeof InclusionQuery>, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.proof', request, (audit, zone) => audit.inclusion(zone, q.position, q.treeSize));
  }

  @Get('proofs/consistency')
  @Roles('auditor')
  @Discloses('audit.proof')
  @ApiOperation({ summary: 'The consistency proof between the trees of `from` and `to` leaves (default: the whole log)' })
  @ApiQueryFrom(ConsistencyQuery)
  @ApiAnswer(200, ConsistencyProof, { description: 'the proof; hashes in base64' })
  consistency(@CurrentCaller() caller: Caller, @ValidQuery(ConsistencyQuery) q: z.output<typeof ConsistencyQuery>, @CurrentRequest() request: RequestContext) {
    return this.read(caller, 'audit.proof', request, (audit, zone) => audit.consistency(zone, q.from, q.to));
  }
}
