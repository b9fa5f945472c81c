import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { partyOf } from '../../events';
import type { Caller } from '../access/caller';
import { Forbidden, NotFound } from '../errors';
import { CLOCK, type Clock } from '../ledger/clock';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { ProtocolView, protocolView } from '../protocol/protocol-view';
import { CurrentCaller, Roles } from './access';
import { jsonSchema } from './json-schema';
import { ApiErrors } from './routes';

/** API.md "Protocol (per zone)": what its parties read; signing and renewal are behaviours (src/protocol/). */
@ApiTags('protocol')
@ApiBearerAuth()
@ApiErrors('unauthenticated', 'forbidden', 'not-found', 'internal', 'unavailable')
@Controller('v1/protocol')
export class ProtocolController {
  constructor(
    private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @Roles('operator', 'coordinator', 'dpo', 'auditor', 'admin')
  @ApiOperation({ summary: "The zone's current protocol (to its parties)" })
  @ApiResponse({ status: 200, schema: jsonSchema(ProtocolView, 'output') })
  async current(@CurrentCaller() { actor }: Caller, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProtocolView> {
    const protocol = await this.protocols.current(actor.zone);
    if (!protocol) throw new NotFound('the zone has no protocol yet');
    if (!partyOf(protocol, actor.agency)) throw new Forbidden('the agency is not a party of the zone protocol');
    void reply.header('etag', `"${protocol.revision}"`);
    return protocolView(actor.zone, protocol, this.clock.now());
  }
}
