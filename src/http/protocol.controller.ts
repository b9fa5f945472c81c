import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { partyOf } from '../../events';
import type { Caller } from '../access/caller';
import { ERRORS, Forbidden } from '../errors';
import { CLOCK, type Clock } from '../ledger/clock';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { ProtocolView, protocolView } from '../protocol/protocol-view';
import { CurrentCaller, Roles } from './access';
import { ErrorBody } from './error-response';
import { jsonSchema } from './json-schema';
import { ApiAnswer, ApiErrors, RESPONSE_HEADERS } from './routes';
import { NoQuery } from './validation';

/** API.md "Protocol (per zone)": what its parties read; signing and renewal are behaviours (src/protocol/). */
@ApiTags('protocol')
@ApiBearerAuth()
@ApiErrors('unauthenticated', 'forbidden', 'internal', 'unavailable')
@Controller('v1/protocol')
export class ProtocolController {
  constructor(
    private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @Roles('operator', 'coordinator', 'dpo', 'auditor', 'admin')
  @ApiOperation({ summary: "The zone's current protocol (to its parties)" })
  @ApiAnswer(200, ProtocolView, { description: 'the protocol in force, and the pending proposal if any; ETag is its revision', headers: ['ETag'] })
  // The guard answers 403 to an agency that is no party of the protocol in force, and so to every
  // agency of a zone that has none yet (ENTITLEMENTS.md "Parties only"): never 404.
  @ApiResponse({
    status: 403,
    description: `forbidden: ${ERRORS.forbidden.description}; also when the zone has no protocol yet`,
    schema: jsonSchema(ErrorBody, 'output'),
    headers: { 'X-Request-Id': RESPONSE_HEADERS['X-Request-Id'] },
  })
  async current(@CurrentCaller() { actor }: Caller, @NoQuery() _query: object, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProtocolView> {
    const protocol = await this.protocols.current(actor.zone);
    if (!protocol || !partyOf(protocol, actor.agency)) throw new Forbidden('the agency is not a party of the zone protocol');
    void reply.header('etag', `"${protocol.revision}"`);
    return protocolView(actor.zone, protocol, this.clock.now());
  }
}
