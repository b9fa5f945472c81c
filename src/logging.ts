import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import { identifyingFieldNames } from '../events';

/**
 * Logs are JSON lines with the request id, and never personal data (STYLE.md "Traps"):
 * - request bodies are never logged, and requests are logged as method and path only: the
 *   query string is dropped and a fiscal code in a path is masked;
 * - every field the event catalogue marks as personal data, and the Authorization header, is
 *   redacted wherever a log call might carry it, as a second line of defence.
 */
const FISCAL_CODE_IN_PATH = /[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]/g;

export function loggablePath(url: string | undefined): string {
  const path = (url ?? '').split('?')[0]!;
  return path.replace(/(\/subjects\/)[^/]+/g, '$1[redacted]').replace(FISCAL_CODE_IN_PATH, '[redacted]');
}

export function redactPaths(): string[] {
  const fields = [...identifyingFieldNames(), 'body'];
  return [
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    ...fields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ];
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'equipe-ledger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

export function httpLogOptions(logger: Logger): PinoHttpOptions {
  return {
    logger,
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? 'unknown',
    autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health') },
    quietReqLogger: true,
    serializers: {
      req: (req: IncomingMessage & { id?: string }) => ({ id: req.id, method: req.method, path: loggablePath(req.url) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customSuccessMessage: (req, res) => `${req.method} ${loggablePath(req.url)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${loggablePath(req.url)} ${res.statusCode}`,
  };
}
