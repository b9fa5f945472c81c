import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../errors';
import type { RequestContext, TrailAction } from '../reads/disclosures';

const PURPOSE = /^[\p{L}\p{N} ._:/-]{1,200}$/u;
export const DEFAULT_PURPOSE = 'case-management';

const validPurpose = (purpose: string | string[] | undefined): purpose is string => typeof purpose === 'string' && PURPOSE.test(purpose);

/** Where and why a read happens, for its trail record: the request id, the caller's address, the stated purpose. */
export function requestContext(request: FastifyRequest): RequestContext {
  const purpose = request.headers['x-purpose'];
  if (purpose !== undefined && !validPurpose(purpose)) {
    throw new ValidationFailed([{ path: 'headers.x-purpose', message: 'must be up to 200 letters, digits, spaces or . _ : / -' }], 'the X-Purpose header is not valid');
  }
  return { requestId: request.id, ip: request.ip, purpose: purpose ?? DEFAULT_PURPOSE };
}

/**
 * The context of a refused attempt's trail record. The refusal comes before anything the caller
 * sent is checked (docs/ACCESS-TRAIL.md "Order of operations on a read"), so a 403 is answered
 * and recorded whatever its X-Purpose; one that is not valid is recorded as the default purpose,
 * as if none had been sent (it may hold anything, personal data included).
 */
export function refusalContext(request: FastifyRequest): RequestContext {
  const purpose = request.headers['x-purpose'];
  return { requestId: request.id, ip: request.ip, purpose: validPurpose(purpose) ? purpose : DEFAULT_PURPOSE };
}

export const CurrentRequest = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => requestContext(context.switchToHttp().getRequest<FastifyRequest>()));

export const DISCLOSES = 'ledger:discloses';

/** A route that discloses a case: its refusals (403, 404) go on the access trail too. */
export const Discloses = (action: TrailAction) => SetMetadata(DISCLOSES, action);
