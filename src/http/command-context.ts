import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../errors';
import { commandIdFor } from '../ledger/command-ids';
import type { Actor } from '../access/actor';

/** What a command carries besides its body: ids for idempotency and tracing, and If-Match. */
export interface CommandContext {
  readonly commandId: string;
  readonly correlationId: string;
  readonly ifMatch?: bigint;
}

const IF_MATCH = /^(?:W\/)?"(\d{1,18})"$|^(\d{1,18})$/;

export function parseIfMatch(header: string | string[] | undefined): bigint | undefined {
  if (header === undefined) return undefined;
  const m = typeof header === 'string' ? IF_MATCH.exec(header.trim()) : null;
  if (!m) throw new ValidationFailed([{ path: 'headers.if-match', message: 'must be a revision in quotes, e.g. "3"' }], 'the If-Match header is not valid');
  return BigInt(m[1] ?? m[2]!);
}

/**
 * The command id comes from the Idempotency-Key when there is one (so everything the command
 * creates gets the same ids on a repeat), the correlation id is the request id of the logs.
 */
export const CurrentCommand = createParamDecorator((_: unknown, context: ExecutionContext): CommandContext => {
  const request = context.switchToHttp().getRequest<FastifyRequest & { actor?: Actor }>();
  const key = request.headers['idempotency-key'];
  const actor = request.actor!;
  return {
    commandId: commandIdFor(actor, typeof key === 'string' ? key : undefined),
    correlationId: request.id,
    ifMatch: parseIfMatch(request.headers['if-match']),
  };
});
