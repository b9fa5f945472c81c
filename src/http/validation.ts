import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationFailed } from '../errors';
import { zodIssues } from './error-response';

export const BODY_SCHEMA = 'ledger:body-schema';

export function parseOrFail<S extends z.ZodType>(schema: S, value: unknown, prefix: ReadonlyArray<string | number> = [], message?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationFailed(zodIssues(result.error, prefix), message);
  return result.data;
}

/**
 * The request body, checked against the zod schema its route declared (routes.ts). The same
 * schema generates the route's OpenAPI body, so the contract has no second copy. A POST
 * without a body reads as `{}`.
 */
export const ValidBody = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const schema = Reflect.getMetadata(BODY_SCHEMA, context.getHandler()) as z.ZodType | undefined;
  if (!schema) throw new Error(`route ${context.getHandler().name} declares no body schema`);
  const body = context.switchToHttp().getRequest<FastifyRequest>().body;
  return parseOrFail(schema, body === undefined ? {} : body);
});

/**
 * The path parameters checked with their zod schemas; a malformed one is a 400 naming
 * `params.<name>`. The object schema is made once per route: zod compiles a schema when it
 * first parses with it, and a schema made per request was compiled per request.
 */
const ParamsParam = createParamDecorator((spec: { schema: z.ZodType }, context: ExecutionContext) => {
  const params = context.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
  return parseOrFail(spec.schema, params, ['params']);
});
export const ValidParams = (shape: Record<string, z.ZodType>) => ParamsParam({ schema: z.object(shape) });

/** A path parameter checked with zod; a malformed one is a 400 naming `params.<name>`. */
export const ValidParam = createParamDecorator((spec: { name: string; schema: z.ZodType }, context: ExecutionContext) => {
  const params = context.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
  return parseOrFail(spec.schema, params[spec.name], ['params', spec.name]);
});

/**
 * The query string checked with a zod object schema; issues name `query.<field>`. (The schema
 * travels wrapped: Nest takes a bare argument with a `transform` method, as zod schemas have,
 * for a pipe.)
 */
const QueryParam = createParamDecorator((spec: { schema: z.ZodType }, context: ExecutionContext) => {
  return parseOrFail(spec.schema, context.switchToHttp().getRequest<FastifyRequest>().query ?? {}, ['query']);
});
export const ValidQuery = (schema: z.ZodType) => QueryParam({ schema });

/** A route that takes no query string: any parameter is a 400 naming it, as on the routes that take some (a `limit` sent here would be believed to page). */
export const NoQuery = () => QueryParam({ schema: z.strictObject({}) });
