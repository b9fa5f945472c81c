import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * GET /metrics (API.md "Operations", no token): Prometheus text. Requests are labelled by
 * route pattern (`/v1/cases/:id`), never by URL, so no case id or fiscal code becomes a label.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'ledger_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: 'ledger_http_request_duration_seconds',
    help: 'Time from a request to its answer, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    const pattern = route ?? 'unmatched';
    this.requests.inc({ method, route: pattern, status: String(status) });
    this.durations.observe({ method, route: pattern }, seconds);
  }

  serve(app: NestFastifyApplication): void {
    app
      .getHttpAdapter()
      .getInstance()
      .get('/metrics', async (_request, reply) => reply.type(this.registry.contentType).send(await this.registry.metrics()));
  }
}
