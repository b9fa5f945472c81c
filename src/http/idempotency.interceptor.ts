import { type CallHandler, type ExecutionContext, Inject, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { Clock } from '../ledger/clock';
import { ERRORS, LedgerError, RuleViolation, ValidationFailed } from '../errors';
import { requestFingerprint, TooDeep } from '../idempotency/idempotency-store';
import type { KeyReservations } from '../idempotency/shared-reservations';
import { KEY_RESERVATIONS } from './injection-tokens';
import { KeyedLock } from '../ledger/keyed-lock';
import type { AuthenticatedRequest } from './access';
import { KeyStore } from '../keys/key-store';
import { CLOCK } from '../ledger/clock';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Idempotency-Key on any POST or PUT (API.md "Conventions"): a repeat with the same key and
 * body within 24 h gets the first response and writes nothing; the same key with another
 * request is refused with 422 `idempotency-key-reused`. Keys are per zone and agency. The key is
 * reserved durably before the command runs, with the command id the command will use
 * (idempotency-store.ts): a repeat after a crash, or after the answer failed to be saved, runs
 * as the same command and is recognised by the ledger. A refused command wrote nothing: its key
 * is released and may be used again.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly lock = new KeyedLock();
  private readonly logger = new Logger('Idempotency');

  constructor(
    @Inject(KEY_RESERVATIONS) private readonly store: KeyReservations,
    @Inject(KeyStore) private readonly keys: KeyStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = request.headers['idempotency-key'];
    if (key === undefined || (request.method !== 'POST' && request.method !== 'PUT') || !request.caller) return next.handle();
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new ValidationFailed([{ path: 'headers.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }], 'the Idempotency-Key header is not valid');
    }
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const actor = request.caller.actor;
    let fingerprint: string;
    try {
      fingerprint = requestFingerprint(request.method, request.url.split('?')[0]!, request.body, (text) => this.keys.fingerprint(text));
    } catch (error) {
      if (error instanceof TooDeep) throw new ValidationFailed([{ path: 'body', message: error.message }], 'the body is nested too deeply');
      throw error;
    }
    return from(
      this.lock.run(`${actor.zone}/${actor.agency}/${key}`, async () => {
        const reservation = await this.store.reserve(actor, key, fingerprint, this.clock.now().getTime());
        if (reservation === 'reused') throw new RuleViolation('idempotency-key-reused');
        const { commandId, response } = reservation;
        if (response) {
          if (response.location) void reply.header('location', response.location);
          void reply.header('idempotent-replayed', 'true');
          void reply.status(response.status);
          return response.body;
        }
        (request as CommandRequest).commandId = commandId;
        let body: unknown;
        try {
          body = await lastValueFrom(next.handle());
        } catch (error) {
          // Refused (4xx): nothing was written, the key is free. Anything else may have been
          // applied: the reservation stays, so a repeat runs as the same command.
          if (error instanceof LedgerError && ERRORS[error.code].status < 500) await this.store.release(actor, key, commandId, this.clock.now().getTime());
          throw error;
        }
        const location = reply.getHeader('location');
        try {
          // The status the handler answered with (a protocol proposal is 202 where the route says 200).
          this.store.complete(actor, key, commandId, { status: reply.statusCode, body, location: typeof location === 'string' ? location : undefined });
        } catch (error) {
          // The command is applied and durable: it is answered. A repeat runs as the same command again.
          this.logger.error(`the answer to an idempotent command could not be kept: ${(error as Error).message}`);
        }
        return body;
      }),
    );
  }
}

/** The command id the key reserved, for CurrentCommand (command-context.ts). */
export type CommandRequest = AuthenticatedRequest & { commandId?: string };
