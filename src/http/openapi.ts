import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NotFound } from '../errors';
import { errorResponse } from './error-response';

/**
 * /openapi.json and Swagger UI at /docs (no token: API.md "Operations"). Paths and operations
 * come from the controllers, every body and response schema from the zod schemas that validate
 * them (routes.ts): the contract has no second copy.
 */
export function buildOpenApi(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Equipe Ledger')
    .setDescription(
      'Event-sourced multi-agency case ledger for integrated social-labour teams. Each agency sees only what it is entitled to; errors, Idempotency-Key and If-Match follow the conventions of the HTTP contract (docs/API.md).',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return SwaggerModule.createDocument(app, config);
}

const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png']);
const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'application/javascript; charset=utf-8', png: 'image/png' };

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Equipe Ledger API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script></body></html>`;
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout', persistAuthorization: false });`;

export function setUpOpenApi(app: NestFastifyApplication): void {
  const document = JSON.stringify(buildOpenApi(app));
  const dist = dirname(require.resolve('swagger-ui-dist/package.json'));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(document));
  fastify.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  fastify.get('/docs/init.js', async (_request, reply) => reply.type(TYPES.js!).send(INIT));
  fastify.get<{ Params: { asset: string } }>('/docs/:asset', async (request, reply) => {
    const asset = request.params.asset;
    if (!ASSETS.has(asset)) {
      const { status, body } = errorResponse(new NotFound());
      return reply.status(status).send(body);
    }
    return reply
      .type(TYPES[asset.split('.').pop()!]!)
      .header('cache-control', 'public, max-age=86400')
      .send(readFileSync(join(dist, asset)));
  });
}
