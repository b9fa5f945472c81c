import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../access/actor';
import type { Limits } from '../config';
import { RateLimited } from '../errors';

/** What @fastify/rate-limit's `createRateLimit` answers for one request. */
interface LimitResult {
  readonly isAllowed: boolean;
  readonly max?: number;
  readonly remaining?: number;
  readonly ttlInSeconds?: number;
  readonly isExceeded?: boolean;
}
type Limiter = (request: FastifyRequest) => Promise<LimitResult>;

/** Routes that are never limited: probes and scrapes must not be refused when the API is busy. */
export const UNLIMITED = /^\/(health|metrics)(\/|\?|$)/;

const SUBJECT = Symbol('ledger:rate-limit-subject');
const SHOWN = Symbol('ledger:rate-limit-shown');
const LIMITS = Symbol('ledger:rate-limits');
type LimitedRequest = FastifyRequest & { [SUBJECT]?: string; [SHOWN]?: number; [LIMITS]?: RateLimits };

/** The token subject's limit, for the guard once it has verified the token (a no-op on an unlimited route). */
export async function limitSubject(actor: Actor, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await (request as LimitedRequest)[LIMITS]?.subject(actor, request, reply);
}

/**
 * API.md "Conventions": rate limits per client address (every request but probes and metrics,
 * before anything else runs) and per token subject (once the guard has verified the token, before
 * any read appends its access-trail record). Over a limit: 429 `rate-limited` with Retry-After.
 * Every answer carries the IETF draft headers RateLimit-Limit, -Remaining and -Reset of the
 * tighter of the two limits that applied.
 */
export class RateLimits {
  private constructor(
    private readonly byAddress: Limiter,
    private readonly bySubject: Limiter,
  ) {}

  static async register(app: NestFastifyApplication, limits: Limits): Promise<RateLimits> {
    const fastify = app.getHttpAdapter().getInstance();
    await fastify.register(rateLimit, { global: false, enableDraftSpec: true, timeWindow: limits.windowMs });
    const decorated = fastify as unknown as { createRateLimit(options: object): Limiter };
    const create = (options: object) => decorated.createRateLimit(options);
    const self = new RateLimits(
      create({ max: limits.perAddress, timeWindow: limits.windowMs }),
      create({ max: limits.perSubject, timeWindow: limits.windowMs, keyGenerator: (request: LimitedRequest) => `subject:${request[SUBJECT]}` }),
    );
    fastify.addHook('onRequest', async (request: LimitedRequest, reply) => {
      if (UNLIMITED.test(request.url)) return;
      request[LIMITS] = self;
      await self.check(self.byAddress, request, reply);
    });
    return self;
  }

  /** The token subject's limit: the guard calls it with the verified actor. */
  async subject(actor: Actor, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    (request as LimitedRequest)[SUBJECT] = JSON.stringify([actor.zone, actor.agency, actor.operator]);
    await this.check(this.bySubject, request, reply);
  }

  private async check(limiter: Limiter, request: LimitedRequest, reply: FastifyReply): Promise<void> {
    const result = await limiter(request);
    if (result.isAllowed || result.max === undefined) return;
    const remaining = result.isExceeded ? 0 : result.remaining!;
    const reset = result.ttlInSeconds!;
    // The tighter limit is the one shown.
    if (request[SHOWN] === undefined || remaining <= request[SHOWN]) {
      request[SHOWN] = remaining;
      void reply.header('ratelimit-limit', result.max).header('ratelimit-remaining', remaining).header('ratelimit-reset', reset);
    }
    if (result.isExceeded) {
      void reply.header('retry-after', Math.max(1, reset));
      throw new RateLimited(`too many requests, try again in ${Math.max(1, reset)} s`);
    }
  }
}
