import { Controller, Get, Inject, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgencyKind, Category, ZoneId } from '../../events';
import type { Actor } from '../access/actor';
import type { Clock } from '../ledger/clock';
import { Forbidden, NotFound } from '../errors';
import { inForce, partyOf, type ZoneProtocol } from '../../events';
import { ProtocolLedger } from '../protocol/protocol-ledger';
import { SignProtocolBody } from '../protocol/sign-protocol';
import { SignProtocolCommand } from '../protocol/sign-protocol-command';
import { CurrentActor, Roles } from './access';
import { CLOCK } from './injection-tokens';
import { type CommandContext, CurrentCommand } from './command-context';
import { jsonSchema } from './json-schema';
import { WriteRoute } from './routes';
import { ValidBody } from './validation';

export const ProtocolView = z.object({
  zone: ZoneId,
  version: z.int().min(1),
  revision: z.int().min(0),
  inForce: z.boolean(),
  title: z.string(),
  validFrom: z.iso.date(),
  validUntil: z.iso.date(),
  consentRequired: z.array(Category),
  retentionYearsAfterClosure: z.int(),
  parties: z.array(z.object({ agency: z.string(), name: z.string(), kind: AgencyKind, minimalEquipe: z.boolean(), receivable: z.array(Category) })),
});
type ProtocolView = z.infer<typeof ProtocolView>;

/** API.md "Protocol (per zone)". */
@ApiTags('protocol')
@Controller('v1/protocol')
export class ProtocolController {
  constructor(
    private readonly commands: CommandBus,
    private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @WriteRoute('', {
    method: 'PUT',
    status: 200,
    summary: "Sign the zone's first protocol, or renew it",
    description: 'The signing agency must be a party of the protocol it signs (and, for a renewal, of the one in force).',
    roles: ['admin'],
    body: SignProtocolBody,
    response: ProtocolView,
  })
  async sign(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidBody() terms: SignProtocolBody, @Res({ passthrough: true }) reply: FastifyReply) {
    const { protocol } = await this.commands.execute(new SignProtocolCommand({ signer: actor, terms, ...command }));
    void reply.header('etag', `"${protocol.revision}"`);
    return this.view(actor.zone, protocol);
  }

  @Get()
  @Roles('operator', 'coordinator', 'dpo', 'auditor', 'admin')
  @ApiBearerAuth()
  @ApiOperation({ summary: "The zone's current protocol (to its parties)" })
  @ApiResponse({ status: 200, schema: jsonSchema(ProtocolView, 'output') as never })
  async current(@CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProtocolView> {
    const protocol = await this.protocols.current(actor.zone);
    if (!protocol) throw new NotFound('the zone has no protocol yet');
    if (!partyOf(protocol, actor.agency)) throw new Forbidden('the agency is not a party of the zone protocol');
    void reply.header('etag', `"${protocol.revision}"`);
    return this.view(actor.zone, protocol);
  }

  private view(zone: string, protocol: ZoneProtocol): ProtocolView {
    return { zone, revision: Number(protocol.revision), inForce: inForce(protocol, this.clock.now()), ...protocol.current };
  }
}
