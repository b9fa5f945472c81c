import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * The data folder takes writes: a small file written, fsynced and removed, at most every 5 s.
 * A store that still answers reads can have a full disk; this is what notices it.
 */
export function writableReadiness(dataDir: string): ReadinessCheck {
  let last: { at: number; error?: string } | undefined;
  const probe = () => {
    const file = join(dataDir, '.write-probe');
    try {
      const fd = openSync(file, 'w', 0o600);
      try {
        writeSync(fd, Buffer.alloc(4096));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      rmSync(file, { force: true });
      return undefined;
    } catch (error) {
      return `cannot write to the data folder: ${(error as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  };
  return {
    name: 'storage',
    check: async () => {
      if (!last || Date.now() - last.at > 5_000) last = { at: Date.now(), error: probe() };
      return last.error === undefined;
    },
    reason: () => last?.error,
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
