import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ValidationFailed } from '../errors';
import { newCommandId } from '../ledger/command-ids';
import type { CommandOrigin } from '../ledger/behaviour';
import type { AuthenticatedRequest } from './access';

const IF_MATCH = /^(?:W\/)?"(\d{1,18})"$|^(\d{1,18})$/;

export function parseIfMatch(header: string | string[] | undefined): bigint | undefined {
  if (header === undefined) return undefined;
  const m = typeof header === 'string' ? IF_MATCH.exec(header.trim()) : null;
  if (!m) throw new ValidationFailed([{ path: 'headers.if-match', message: 'must be a revision in quotes, e.g. "3"' }], 'the If-Match header is not valid');
  return BigInt(m[1] ?? m[2]!);
}

/**
 * Who and which command: a new command id (a route's handler puts in its place the one an
 * Idempotency-Key reserved, idempotent-requests.ts, so everything the command creates gets the
 * same ids on a repeat in the key's window); the correlation id is the request id of the logs.
 */
export const CurrentCommand = createParamDecorator((_: unknown, context: ExecutionContext): CommandOrigin => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  const actor = request.caller!.actor;
  return {
    actor,
    commandId: newCommandId(),
    correlationId: request.id,
    ifMatch: parseIfMatch(request.headers['if-match']),
  };
});
