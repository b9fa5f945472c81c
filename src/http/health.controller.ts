import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import type { EventStore } from '../../events/event-store';
import { Public } from './access';
import { READINESS_CHECKS } from './injection-tokens';

/** A check that must pass before the service takes traffic: the store answers, projections caught up. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
  /** Why it is down, shown by /health/ready beside `status: down` (no personal data, no secret). */
  reason?(): string | undefined;
}

export function storeReadiness(store: EventStore): ReadinessCheck {
  return {
    name: 'event-store',
    check: () => Promise.race([store.ping().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref())]).catch(() => false),
  };
}

/** API.md "Operations": no token; `ready` is 503 until every readiness check passes. */
@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  @Get('live')
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.health.check(
        this.checks.map((c) => async () => {
          const session = this.indicators.check(c.name);
          if (await c.check()) return session.up();
          const reason = c.reason?.();
          return reason ? session.down({ reason }) : session.down();
        }),
      );
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
