import { applyDecorators } from '@nestjs/common';
import { ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { ERROR_CODES, ERRORS, type ErrorCode } from '../errors';
import { ErrorBody } from './error-response';
import { jsonSchema } from './json-schema';

/*
 * The OpenAPI pieces every route shares, generated from the one error table and from the zod
 * schemas that validate requests: the contract has no second copy.
 */

const errorSchema = jsonSchema(ErrorBody, 'output');

/** The error answers of a route, from the one error table (src/errors.ts). */
export function errorAnswers(codes: readonly ErrorCode[] = ERROR_CODES): MethodDecorator[] {
  return codes.map((code) => ApiResponse({ status: ERRORS[code].status, description: `${code}: ${ERRORS[code].description}`, schema: errorSchema }));
}

/** The error answers of every operation of a controller, or of one operation. */
export function ApiErrors(...codes: ErrorCode[]): ClassDecorator & MethodDecorator {
  return applyDecorators(...errorAnswers(codes.length ? codes : ERROR_CODES));
}

/** The request headers of the contract, with the bounds their checks apply (idempotency.interceptor.ts, command-context.ts, request-context.ts). */
export const HEADER_SCHEMAS = {
  'Idempotency-Key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]{1,255}$' },
  'If-Match': { type: 'string', maxLength: 22, pattern: '^(?:W/)?"\\d{1,18}"$|^\\d{1,18}$' },
  'X-Purpose': { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\p{L}\\p{N} ._:/-]{1,200}$' },
} as const;

interface ZodObjectLike {
  readonly shape: Record<string, z.ZodType>;
}

/** The query parameters of a route, each documented from its field of the zod object that validates the query string. */
export function ApiQueryFrom(schema: ZodObjectLike): MethodDecorator {
  return applyDecorators(
    ...Object.entries(schema.shape).map(([name, field]) => ApiQuery({ name, required: !field.safeParse(undefined).success, schema: jsonSchema(field) as never })),
  );
}
