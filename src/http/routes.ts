import { applyDecorators } from '@nestjs/common';
import { ApiQuery, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_CODES, ERRORS, type ErrorCode } from '../errors';
import { ErrorBody } from './error-response';
import { jsonSchema } from './json-schema';
import { PURPOSE } from './request-context';

/*
 * The OpenAPI pieces every route shares, generated from the one error table and from the zod
 * schemas that validate requests: the contract has no second copy.
 */

const errorSchema = jsonSchema(ErrorBody, 'output');

/**
 * The response headers the service sends, with the bounds of what it puts in them: X-Request-Id
 * on every answer (src/app.ts: the caller's when it is a UUID, else a new one), ETag on reads of
 * a case and of the protocol, Location on a referral, Idempotent-Replayed on a repeat answered
 * from an Idempotency-Key (idempotent-requests.ts), x-next-cursor on a CSV page of the trail.
 */
export const RESPONSE_HEADERS = {
  'X-Request-Id': { description: "the request's id: the caller's X-Request-Id when it is a UUID, else a new one", schema: { type: 'string', format: 'uuid', maxLength: 36 } },
  ETag: { description: 'the revision the answer reflects, for If-Match', schema: { type: 'string', maxLength: 20, pattern: '^"\\d{1,18}"$' } },
  Location: { description: 'the case the referral opened', schema: { type: 'string', maxLength: 46, pattern: '^/v1/cases/[0-9a-f-]{36}$' } },
  'Idempotent-Replayed': {
    description: 'sent only on a repeat with the same Idempotency-Key: the first answer, replayed, nothing written',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
  'x-next-cursor': {
    description: 'the cursor of the next page; absent on the last page',
    required: false,
    schema: { type: 'string', maxLength: 500, pattern: '^[A-Za-z0-9_-]+$' },
  },
} as const;
export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

const headersOf = (names: readonly ResponseHeader[]) => Object.fromEntries(['X-Request-Id' as const, ...names].map((name) => [name, RESPONSE_HEADERS[name]]));

/** The error answers of a route, from the one error table (src/errors.ts). */
export function errorAnswers(codes: readonly ErrorCode[] = ERROR_CODES): MethodDecorator[] {
  return codes.map((code) =>
    ApiResponse({ status: ERRORS[code].status, description: `${code}: ${ERRORS[code].description}`, schema: errorSchema, headers: headersOf([]) as never }),
  );
}

/**
 * The error answers of every operation of a controller, or of one operation. Every /v1 route
 * is rate limited (rate-limits.ts), so `rate-limited` is always among them.
 */
export function ApiErrors(...codes: ErrorCode[]): ClassDecorator & MethodDecorator {
  return applyDecorators(...errorAnswers(codes.length ? [...new Set<ErrorCode>([...codes, 'rate-limited'])] : ERROR_CODES));
}

/**
 * A success answer of a route: its body from the zod schema of what the handler returns (the
 * output side), X-Request-Id and the other headers it sends, and any other media type it may be
 * asked for with Accept.
 */
export function ApiAnswer(
  status: number,
  schema: z.ZodType,
  options: { description: string; headers?: readonly ResponseHeader[]; also?: Record<string, { schema: Record<string, unknown> }> },
): MethodDecorator {
  const headers = headersOf(options.headers ?? []) as never;
  if (!options.also) return ApiResponse({ status, description: options.description, schema: jsonSchema(schema, 'output'), headers });
  return ApiResponse({ status, description: options.description, headers, content: { 'application/json': { schema: jsonSchema(schema, 'output') }, ...options.also } });
}

/** API.md "Conventions": lists page with `limit` (default 50, max 500) and an opaque `cursor`. */
export const PAGE_LIMIT = { default: 50, max: 500 } as const;
export const PageLimit = z.coerce.number().int().min(1).max(PAGE_LIMIT.max).default(PAGE_LIMIT.default);
export const PageCursor = z.string().max(500).optional();

/** The cursor of the next page (cursor.ts: base64url), null at the end. */
export const NextCursor = z
  .string()
  .max(500)
  .regex(/^[A-Za-z0-9_-]+$/)
  .nullable();

/** A page of a list: at most `limit` items and the cursor of the next page. */
export function Page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item).max(PAGE_LIMIT.max), nextCursor: NextCursor });
}

/** The request headers of the contract, with the bounds their checks apply (idempotent-requests.ts, command-context.ts, request-context.ts). */
export const HEADER_SCHEMAS = {
  'Idempotency-Key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]{1,255}$' },
  'If-Match': { type: 'string', maxLength: 22, pattern: '^(?:W/)?"\\d{1,18}"$|^\\d{1,18}$' },
  'X-Purpose': {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    pattern: PURPOSE.source,
    description: 'a purpose code; besides the pattern, nothing shaped like a fiscal code (16 characters: 6 letters, 2 digits, a letter, ...) is taken',
  },
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
