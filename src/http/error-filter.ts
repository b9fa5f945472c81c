import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { errorResponse, storageFault } from './error-response';

/** Storage failures answered 503, by code (registered in the service's metrics registry). */
export const storageFaults = new Counter({
  name: 'ledger_storage_faults_total',
  help: 'Requests answered 503 because storage failed, by code',
  labelNames: ['code'],
  registers: [],
});

/**
 * The one exception filter: every error, whatever threw it, leaves as an API.md error body.
 * A 5xx is logged with its error (never the request body); the caller sees no detail.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    sendError(reply, exception, this.log, request?.id);
  }
}

export function sendError(reply: FastifyReply, exception: unknown, log: Logger, requestId?: string): void {
  const { status, body } = errorResponse(exception);
  const fault = storageFault(exception);
  if (fault !== undefined) {
    storageFaults.inc({ code: fault });
    log.error({ err: exception, reqId: requestId, storage: fault }, 'storage failure');
  } else if (status >= 500) log.error({ err: exception, reqId: requestId }, 'request failed');
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}
