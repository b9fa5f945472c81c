import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { Clock } from '../ledger/clock';
import { RuleViolation, ValidationFailed } from '../errors';
import { IdempotencyStore, requestFingerprint } from '../idempotency/idempotency-store';
import { KeyedLock } from '../ledger/keyed-lock';
import type { AuthenticatedRequest } from './access';
import { KeyStore } from '../keys/key-store';
import { CLOCK } from '../ledger/clock';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Idempotency-Key on any POST or PUT (API.md "Conventions"): a repeat with the same key and
 * body within 24 h gets the first response and writes nothing; the same key with another
 * request is refused with 422 `idempotency-key-reused`. Keys are per zone and agency.
 * Successful responses are remembered; a refused command wrote nothing and may be repeated.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: IdempotencyStore,
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
    const fingerprint = requestFingerprint(request.method, request.url.split('?')[0]!, request.body, (text) => this.keys.fingerprint(text));
    return from(
      this.lock.run(`${actor.zone}/${actor.agency}/${key}`, async () => {
        const first = this.store.find(actor, key, this.clock.now().getTime());
        if (first) {
          if (first.fingerprint !== fingerprint) throw new RuleViolation('idempotency-key-reused');
          if (first.location) void reply.header('location', first.location);
          void reply.header('idempotent-replayed', 'true');
          void reply.status(first.status);
          return first.body;
        }
        const body = await lastValueFrom(next.handle());
        const location = reply.getHeader('location');
        // The status the handler answered with (a protocol proposal is 202 where the route says 200).
        this.store.save(actor, key, { fingerprint, status: reply.statusCode, body, location: typeof location === 'string' ? location : undefined }, this.clock.now().getTime());
        return body;
      }),
    );
  }
}
