import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../errors';
import type { RequestContext, TrailAction } from '../reads/disclosures';

/**
 * X-Purpose is a purpose code (`case-management`, `verifica-pais`): it is kept in clear in the
 * trail, so the form of a code only, lower case, no spaces, up to 64 characters, and nothing
 * shaped like a fiscal code (docs/DPIA.md). Free text, where a name would fit, is refused.
 */
export const PURPOSE = /^[a-z0-9._:/-]{1,64}$/;
const FISCAL_CODE_SHAPE = /[a-z]{6}[0-9lmnpqrstuv]{2}[a-z][0-9lmnpqrstuv]{2}[a-z][0-9lmnpqrstuv]{3}[a-z]/;
export const DEFAULT_PURPOSE = 'case-management';

const validPurpose = (purpose: string | string[] | undefined): purpose is string => typeof purpose === 'string' && PURPOSE.test(purpose) && !FISCAL_CODE_SHAPE.test(purpose);

/** Where and why a read happens, for its trail record: the request id, the caller's address, the stated purpose. */
export function requestContext(request: FastifyRequest): RequestContext {
  const purpose = request.headers['x-purpose'];
  if (purpose !== undefined && !validPurpose(purpose)) {
    throw new ValidationFailed(
      [{ path: 'headers.x-purpose', message: 'must be a purpose code: up to 64 lower-case letters, digits or . _ : / -' }],
      'the X-Purpose header is not valid',
    );
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
