import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
 *
 * Called by the command routes' handlers around their work, after the body and parameters are
 * valid, rather than as a NestJS interceptor: on Node 20 the interceptor chain binds two
 * AsyncResources a request, about 19 µs each (each bind makes two `util.deprecate` wrappers),
 * paid by every command with or without a key (docs/BENCHMARKS.md, eighth session).
 */
@Injectable()
export class IdempotentRequests {
  private readonly lock = new KeyedLock();
  private readonly logger = new Logger('Idempotency');

  constructor(
    @Inject(KEY_RESERVATIONS) private readonly store: KeyReservations,
    @Inject(KeyStore) private readonly keys: KeyStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Runs `work` with the command id the request's Idempotency-Key reserved (undefined without a
   * key), or answers the first response of a repeat without running it. `onReplay` runs before a
   * repeat is answered: a route whose answer is a disclosure puts the repeat on the access trail
   * there, as it did the first time (no record, no disclosure).
   */
  run(request: AuthenticatedRequest, reply: FastifyReply, work: (commandId: string | undefined) => Promise<unknown>, onReplay?: () => Promise<void>): Promise<unknown> {
    const key = request.headers['idempotency-key'];
    if (key === undefined || (request.method !== 'POST' && request.method !== 'PUT') || !request.caller) return work(undefined);
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new ValidationFailed([{ path: 'headers.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }], 'the Idempotency-Key header is not valid');
    }
    const actor = request.caller.actor;
    let fingerprint: string;
    try {
      // Every path parameter of the API is read without regard to letter case (case, consent and
      // proposal ids are UUIDs, fiscal codes are upper-cased): a retry that spells one otherwise is
      // the same request.
      const path = request.url.split('?')[0]!.toLowerCase();
      fingerprint = requestFingerprint(request.method, path, request.body, (text) => this.keys.fingerprint(text));
    } catch (error) {
      if (error instanceof TooDeep) throw new ValidationFailed([{ path: 'body', message: error.message }], 'the body is nested too deeply');
      throw error;
    }
    return this.lock.run(`${actor.zone}/${actor.agency}/${key}`, async () => {
      const reservation = await this.store.reserve(actor, key, fingerprint, this.clock.now().getTime());
      if (reservation === 'reused') throw new RuleViolation('idempotency-key-reused');
      const { commandId, response } = reservation;
      if (response) {
        await onReplay?.();
        if (response.location) void reply.header('location', response.location);
        void reply.header('idempotent-replayed', 'true');
        void reply.status(response.status);
        return response.body;
      }
      let body: unknown;
      try {
        body = await work(commandId);
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
    });
  }
}
