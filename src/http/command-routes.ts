import { Controller, HttpCode, Inject, Post, Put, Res, SetMetadata, type Type } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { NotFound } from '../errors';
import type { Behaviour, CommandOrigin } from '../ledger/behaviour';
import { Disclosures } from '../reads/disclosures';
import { AnyAgencyOfTheZone, Roles } from './access';
import { CurrentCommand } from './command-context';
import { IdempotentRequests } from './idempotent-requests';
import { jsonSchema } from './json-schema';
import { Discloses, refusalContext } from './request-context';
import { ApiAnswer, errorAnswers, HEADER_SCHEMAS } from './routes';
import { BODY_SCHEMA, ValidBody, ValidParams } from './validation';

/**
 * Registers every behaviour as a route under /v1 (one small generic piece: a behaviour is
 * described in its own file, src/case/*.ts or src/protocol/*.ts). The route checks the token's
 * roles (the global guard reads @Roles), the path parameters and the body against the
 * behaviour's zod schemas (which also write its OpenAPI operation), puts the behaviour's
 * command on the CommandBus, and answers what the command's handler returns, with the
 * behaviour's headers. Idempotency-Key applies to these routes (IdempotentRequests), and to the
 * auditors' checkpoint.
 */
export function commandRoutes(behaviours: readonly Behaviour[]): Type<unknown> {
  @ApiTags('commands')
  @ApiBearerAuth()
  @Controller('v1')
  class CommandRoutes {
    constructor(
      @Inject(CommandBus) readonly bus: CommandBus,
      @Inject(Disclosures) readonly disclosures: Disclosures,
      @Inject(IdempotentRequests) readonly idempotency: IdempotentRequests,
    ) {}
  }

  for (const behaviour of behaviours) {
    const { route } = behaviour;
    const status = route.status ?? 201;
    const onCase = 'id' in route.params;
    const handle = {
      async [behaviour.name](this: CommandRoutes, origin: CommandOrigin, params: never, body: never, reply: FastifyReply) {
        // With an Idempotency-Key, the command id is the one the key reserved: a repeat runs as the same command.
        return this.idempotency.run(reply.request, reply, async (reserved) => {
          let answer: unknown;
          try {
            answer = await this.bus.execute(behaviour.command(reserved === undefined ? origin : { ...origin, commandId: reserved }, params, body));
          } catch (error) {
            // A command about a case that does not exist for the caller is a refused attempt: on the
            // trail before its 404 leaves, as for a read (ENTITLEMENTS.md "The access trail"), so an
            // invisible case and an unknown one answer alike, in time too.
            if (onCase && error instanceof NotFound) {
              const caseId = (params as { id: string }).id;
              await this.disclosures.record(origin.actor, 'case.command', [{ caseId, outcome: 'not-found' }], refusalContext(reply.request));
            }
            throw error;
          }
          if (behaviour.statusOf) void reply.status(behaviour.statusOf(answer));
          for (const [name, value] of Object.entries(behaviour.headers?.(answer) ?? {})) void reply.header(name, value);
          return answer;
        });
      },
    }[behaviour.name]!;
    const prototype = CommandRoutes.prototype as unknown as Record<string, unknown>;
    const descriptor: PropertyDescriptor = { value: handle, writable: true, configurable: true, enumerable: false };
    Object.defineProperty(prototype, behaviour.name, descriptor);
    // Parameters, in order: who and which command (token, Idempotency-Key, If-Match), path, body, reply.
    CurrentCommand()(prototype, behaviour.name, 0);
    ValidParams(route.params)(prototype, behaviour.name, 1);
    ValidBody()(prototype, behaviour.name, 2);
    Res({ passthrough: true })(prototype, behaviour.name, 3);
    const decorators: MethodDecorator[] = [
      route.method === 'PUT' ? Put(route.path) : Post(route.path),
      HttpCode(status),
      Roles(...route.roles),
      ...(route.anyAgency ? [AnyAgencyOfTheZone()] : []),
      // A refusal (403) of a command on a case goes on the trail, as the guard records it for reads.
      ...(onCase ? [Discloses('case.command')] : []),
      SetMetadata(BODY_SCHEMA, behaviour.body),
      ApiOperation({ operationId: behaviour.name, summary: route.summary, description: `${route.description ?? ''}\n\nRoles: ${route.roles.join(', ')}.`.trim() }),
      ApiBody({ schema: jsonSchema(behaviour.body) as never }),
      ApiHeader({
        name: 'Idempotency-Key',
        required: false,
        schema: HEADER_SCHEMAS['Idempotency-Key'],
        description: 'a repeat with the same key and body within 24 h returns the first response and writes nothing',
      }),
      ApiHeader({ name: 'If-Match', required: false, schema: HEADER_SCHEMAS['If-Match'], description: 'the revision last read, e.g. "3"; 412 if it changed since' }),
      ...Object.entries(route.params).map(([name, schema]) => ApiParam({ name, schema: jsonSchema(schema) })),
      ApiAnswer(status, behaviour.answer, { description: 'accepted and durable', headers: ['Idempotent-Replayed', ...(behaviour.sends ?? [])] }),
      ...(behaviour.otherAnswers ?? []).map((other) => ApiAnswer(other.status, other.schema, { description: other.description, headers: ['Idempotent-Replayed'] })),
      ...errorAnswers(),
    ];
    for (const decorate of decorators) decorate(prototype, behaviour.name, descriptor);
  }
  return CommandRoutes;
}
