import { HttpException } from '@nestjs/common';
import { z } from 'zod';
import { Forbidden, NotFound, PreconditionFailed, RuleViolation, Unauthenticated, Unavailable, ValidationFailed, type ValidationIssue } from '../errors';
import { StoreUnavailableError } from '../../events/event-store';

/** API.md "Conventions": the error body, the same for every route. */
export const ErrorBody = z.object({
  error: z.enum([
    'validation',
    'unauthenticated',
    'forbidden',
    'not-found',
    'precondition-failed',
    'payload-too-large',
    'unsupported-media-type',
    'rule-violation',
    'unavailable',
    'internal',
  ]),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).max(20).optional(),
  rule: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
}

const MAX_ISSUES = 20;

/** zod issues as API.md issues: dotted paths, unknown keys named in the path, at most 20. */
export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<string | number> = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p.description) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: [...base, key].join('.'), message: 'unknown field' });
    } else {
      issues.push({ path: base.join('.'), message: issue.message });
    }
  }
  return issues.slice(0, MAX_ISSUES);
}

const byStatus: Record<number, ErrorBody['error']> = {
  400: 'validation',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-found',
  412: 'precondition-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'rule-violation',
  503: 'unavailable',
};

/** Fastify's own errors, raised before a request reaches a controller (body parsing, limits). */
interface FastifyError {
  code?: string;
  statusCode?: number;
}

/**
 * The one mapping from anything thrown to an API.md error response (ARCHITECTURE.md property
 * 9). Unknown errors become a 500 without detail: stack traces and driver messages stay in the
 * server's log.
 */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof ValidationFailed) return { status: 400, body: { error: 'validation', message: error.message, issues: error.issues.slice(0, MAX_ISSUES) } };
  if (error instanceof z.ZodError) return { status: 400, body: { error: 'validation', message: 'the request is not valid', issues: zodIssues(error) } };
  if (error instanceof RuleViolation) return { status: 422, body: { error: 'rule-violation', message: error.message, rule: error.rule } };
  if (error instanceof Unauthenticated) return { status: 401, body: { error: 'unauthenticated', message: error.message } };
  if (error instanceof Forbidden) return { status: 403, body: { error: 'forbidden', message: error.message } };
  if (error instanceof NotFound) return { status: 404, body: { error: 'not-found', message: error.message } };
  if (error instanceof PreconditionFailed) return { status: 412, body: { error: 'precondition-failed', message: error.message } };
  if (error instanceof Unavailable || error instanceof StoreUnavailableError) return { status: 503, body: { error: 'unavailable', message: 'the service is unavailable, try again' } };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = byStatus[status];
    if (code) return { status, body: { error: code, message: status === 404 ? 'not found' : httpMessage(error) } };
  }
  const fastify = error as FastifyError;
  if (typeof fastify?.code === 'string' && fastify.code.startsWith('FST_')) {
    if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { error: 'payload-too-large', message: 'the body is larger than 256 KiB' } };
    if (fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { error: 'unsupported-media-type', message: 'send application/json' } };
    if (fastify.statusCode === 400) return { status: 400, body: { error: 'validation', message: 'the body is not valid JSON' } };
  }
  if (error instanceof SyntaxError && (error as FastifyError).statusCode === 400) {
    return { status: 400, body: { error: 'validation', message: 'the body is not valid JSON' } };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}

function httpMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : error.message;
}
