import pino, { type DestinationStream, type Logger } from 'pino';
import { identifyingFieldNames } from '../events';

/**
 * Logs are JSON lines with the request id, and never personal data (STYLE.md "Traps"):
 * - request bodies are never logged, and requests are logged as method and path only: the
 *   route's pattern, each parameter written out only where it is a case id or a number;
 * - every field the event catalogue marks as personal data, and the Authorization header, is
 *   redacted wherever a log call might carry it, as a second line of defence.
 */
const SHOWN_PARAM = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d{1,9})$/;

/** What a request is logged as, e.g. `/v1/cases/<uuid>/notes`; `[no route]` for a path no route matched. */
export interface LoggedRequest {
  readonly url: string;
  readonly routeOptions?: { readonly url?: string };
  readonly params?: unknown;
}

/**
 * The path as it is logged: the pattern of the route that matched, with a parameter's value only
 * where it is a case id (a UUID) or a number, `[redacted]` otherwise; the raw path is never
 * written, since anything may be typed into it (a name, a fiscal code, percent-encoded or not).
 * A path no route matched is `[no route]`.
 */
export function loggablePath(request: LoggedRequest): string {
  const route = request.routeOptions?.url;
  if (!route || route === '*') return '[no route]';
  const params = (request.params ?? {}) as Record<string, unknown>;
  return route.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = params[name];
    return typeof value === 'string' && SHOWN_PARAM.test(value) ? value : '[redacted]';
  });
}

/**
 * Exact paths only: every wildcard makes the redactor walk each logged object once more, which
 * cost 50 µs a line with the catalogue's fields under `*.` and `*.*.` (about 7 µs without).
 * Whole subtrees that could hold a person's data (`body`, `data`, `person`, `notes`) are
 * censored wherever they are logged at the top or under `req`, `event` or `err`.
 */
export function redactPaths(): string[] {
  const fields = identifyingFieldNames();
  const subtrees = ['body', 'data', 'person', 'notes'];
  return [
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    ...[...fields, ...subtrees.filter((s) => !fields.includes(s))].flatMap((f) => [f, `req.${f}`, `event.${f}`, `err.${f}`]),
  ];
}

const SERVICE = 'equipe-ledger';

/** How long a log line may wait in the buffer of standard output before it is written. */
const LOG_FLUSH_MS = 250;

/**
 * Standard output is written in blocks of 4 KiB, not a write a line (one access line per
 * request cost each request a write of its own), and at least every 250 ms; the service
 * flushes it when it closes (app.ts), and the process when it exits.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  let output = destination;
  if (!output) {
    const stdout = pino.destination({ sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), LOG_FLUSH_MS).unref();
    // A process that ends without closing the service (a crash) still writes what it buffered.
    process.once('exit', () => {
      try {
        stdout.flushSync();
      } catch {
        // a write still in flight: nothing more can be done at exit
      }
    });
    output = stdout;
  }
  return pino(
    {
      level,
      base: { service: SERVICE },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    output,
  );
}

/**
 * One access log line per response, written by a Fastify hook with the root logger. The
 * pino-http middleware that nestjs-pino installs by default made a child logger and redacted
 * a serialized request for every request, through the Express-style middleware layer: it cost
 * 4 to 5 times the rest of a simple request (docs/BENCHMARKS.md). Nest's own logs still go
 * through nestjs-pino, to this same logger.
 */
export function accessLogLine(logger: Logger, request: LoggedRequest & { id: string; method: string }, statusCode: number, responseTimeMs: number): void {
  if (request.url.startsWith('/health') || !logger.isLevelEnabled('info')) return;
  const path = loggablePath(request);
  // The line pino's logger.info would write, built here: its shape is fixed and holds nothing to
  // redact (the path is masked above), and pino's general path (serialise, redact, format) cost
  // a request about 3% of its CPU. test/logging/access-line.spec.ts holds the two equal.
  const text = JSON.stringify;
  const line =
    `{"level":30,"time":"${new Date().toISOString()}","service":${text(SERVICE)},"reqId":${text(request.id)},` +
    `"req":{"method":${text(request.method)},"path":${text(path)}},"res":{"statusCode":${statusCode}},` +
    `"responseTime":${Math.round(responseTimeMs * 10) / 10},"msg":${text(`${request.method} ${path} ${statusCode}`)}}\n`;
  (logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!.write(line);
}
