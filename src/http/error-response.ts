import { HttpException } from '@nestjs/common';
import { z } from 'zod';
import { StoreUnavailableError } from '../../events';
import {
  codeOfStatus,
  ERROR_CODES,
  ERRORS,
  type ErrorCode,
  LedgerError,
  type Rule,
  RULES,
  MAX_ISSUES,
  PayloadTooLarge,
  Unavailable,
  UnsupportedMediaType,
  ValidationFailed,
  type ValidationIssue,
} from '../errors';

/** The longest message or issue path an error body carries: longer ones are cut (a path may echo an unknown field's name). */
export const MAX_TEXT = 500;
const cut = (text: string) => {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 1)}…` : line;
};

/** API.md "Conventions": the error body, the same for every route, its codes from the one table. */
export const ErrorBody = z.object({
  error: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  message: z
    .string()
    .max(MAX_TEXT)
    .regex(/^[^\r\n]*$/),
  issues: z
    .array(
      z.object({
        path: z
          .string()
          .max(MAX_TEXT)
          .regex(/^[^\r\n]*$/),
        message: z
          .string()
          .max(MAX_TEXT)
          .regex(/^[^\r\n]*$/),
      }),
    )
    .max(MAX_ISSUES)
    .optional(),
  rule: z.enum(Object.keys(RULES) as [Rule, ...Rule[]]).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
}

/** zod issues as API.md issues: dotted paths, unknown keys named in the path, at most 20. */
export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<string | number> = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p.description) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: cut([...base, key].join('.')), message: 'unknown field' });
    } else {
      issues.push({ path: cut(base.join('.')), message: cut(issue.message) });
    }
  }
  // Two checks of one field that fail with the same message (a number neither whole nor in range) are one issue.
  const seen = new Set<string>();
  return issues.filter((issue) => !seen.has(`${issue.path}\u0000${issue.message}`) && seen.add(`${issue.path}\u0000${issue.message}`)).slice(0, MAX_ISSUES);
}

/** Fastify's own errors, raised before a request reaches a controller (body parsing, limits). */
interface FastifyError {
  code?: string;
  statusCode?: number;
}

/**
 * What anything thrown becomes as a LedgerError, or undefined for a fault of the service.
 * A ZodError that reaches here was not raised by request validation (which throws
 * ValidationFailed): it comes from encoding or decoding a stored event, a server fault.
 */
function asLedgerError(error: unknown): LedgerError | undefined {
  // A 503 never says which part is down: the details are in the server's log.
  if (error instanceof Unavailable || error instanceof StoreUnavailableError || storageFault(error) !== undefined) return new Unavailable();
  if (error instanceof LedgerError) return error;
  if (error instanceof HttpException) {
    const code = codeOfStatus(error.getStatus());
    if (code && code !== 'internal') return new LedgerError(code, code === 'not-found' ? 'not found' : httpMessage(error));
  }
  const fastify = error as FastifyError;
  if (typeof fastify?.code === 'string' && fastify.code.startsWith('FST_')) {
    if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLarge();
    if (fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new UnsupportedMediaType();
    if (fastify.statusCode === 400) return new ValidationFailed([], 'the body is not valid JSON');
  }
  if (error instanceof SyntaxError && (error as FastifyError).statusCode === 400) return new ValidationFailed([], 'the body is not valid JSON');
  return undefined;
}

/** SQLite result codes of a storage that cannot serve now (full, failing, locked, read-only), not of a bug. */
const SQLITE_FAULTS = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|PROTOCOL|NOLFS)/;
/** Operating-system errors of the same kind. */
const OS_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE']);

/**
 * The code of a storage failure (disk full, I/O error, a store that cannot be reached), or
 * undefined for anything else. Such a failure answers 503 `unavailable` (API.md "Conventions"),
 * is logged and counted: it is the machine's fault, and retrying later may well succeed.
 */
export function storageFault(error: unknown): string | undefined {
  if (error instanceof StoreUnavailableError) return 'store-unavailable';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (SQLITE_FAULTS.test(code) || OS_FAULTS.has(code)) return code;
  return undefined;
}

/**
 * The one mapping from anything thrown to an API.md error response (ARCHITECTURE.md property
 * 9). Unknown errors become a 500 without detail: stack traces and driver messages stay in the
 * server's log.
 */
export function errorResponse(error: unknown): ErrorResponse {
  const known = asLedgerError(error);
  if (!known) return { status: ERRORS.internal.status, body: { error: 'internal', message: 'internal error' } };
  const body = known.body();
  body.message = cut(body.message);
  if (body.issues?.length === 0) delete body.issues;
  return { status: known.status, body };
}

function httpMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : error.message;
}
