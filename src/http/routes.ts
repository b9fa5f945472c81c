import { applyDecorators, HttpCode, Post, Put, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import type { Role } from '../access/actor';
import { Roles } from './access';
import { ERROR_CODES, ERRORS, type ErrorCode } from '../errors';
import { ErrorBody } from './error-response';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { jsonSchema } from './json-schema';
import { BODY_SCHEMA } from './validation';

/** API.md: every command answers 201 with at least these. */
export const CommandAccepted = z.object({
  caseId: z.uuid(),
  revision: z.int().min(0).meta({ description: 'the case revision after the command; send it back in If-Match' }),
  position: z.int().min(0).meta({ description: 'the position of the last appended event in the global log' }),
  consentId: z.uuid().optional(),
  planRevision: z.int().min(1).optional(),
});
export type CommandAccepted = z.infer<typeof CommandAccepted>;


const errorSchema = jsonSchema(ErrorBody, 'output');

/** The error answers of a route, from the one error table (src/errors.ts). */
export function errorAnswers(codes: readonly ErrorCode[] = ERROR_CODES): MethodDecorator[] {
  return codes.map((code) => ApiResponse({ status: ERRORS[code].status, description: `${code}: ${ERRORS[code].description}`, schema: errorSchema as never }));
}

export interface RouteSpec {
  readonly summary: string;
  readonly roles: Role[];
  readonly body: z.ZodType;
  readonly params?: Record<string, z.ZodType>;
  readonly method?: 'POST' | 'PUT';
  readonly status?: 200 | 201;
  readonly response?: z.ZodType;
  readonly description?: string;
}

/**
 * A write route: method and path, roles, the body's zod schema (which validates the body via
 * @ValidBody() and generates its OpenAPI document), and the documented answers.
 */
export function WriteRoute(path: string, spec: RouteSpec): MethodDecorator {
  const status = spec.status ?? 201;
  return applyDecorators(
    (spec.method ?? 'POST') === 'PUT' ? Put(path) : Post(path),
    HttpCode(status),
    Roles(...spec.roles),
    // Idempotency-Key applies to writes only; reads skip the interceptor machinery altogether.
    UseInterceptors(IdempotencyInterceptor),
    SetMetadata(BODY_SCHEMA, spec.body),
    ApiOperation({ summary: spec.summary, description: `${spec.description ?? ''}\n\nRoles: ${spec.roles.join(', ')}.`.trim() }),
    ApiBearerAuth(),
    ApiBody({ schema: jsonSchema(spec.body) as never }),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: 'a repeat with the same key and body within 24 h returns the first response and writes nothing' }),
    ApiHeader({ name: 'If-Match', required: false, description: 'the revision last read, e.g. "3"; 412 if the case changed since' }),
    ...Object.entries(spec.params ?? {}).map(([name, schema]) => ApiParam({ name, schema: jsonSchema(schema) as never })),
    ApiResponse({ status, schema: jsonSchema(spec.response ?? CommandAccepted, 'output') as never, description: 'accepted and durable' }),
    ...errorAnswers(),
  );
}
