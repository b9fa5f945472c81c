import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OperationObject, ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ERRORS, type ErrorCode, NotFound } from '../errors';
import { ErrorBody, errorResponse } from './error-response';
import { jsonSchema } from './json-schema';

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
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'A JWT (RFC 7519) with the claims sub, zone, agency, roles and exp (required), verified as RFC8725 advises: signed with an asymmetric algorithm from an explicit list (EdDSA, ES256, ES384, RS256, PS256; never none or HMAC), expiry required, issuer and audience checked when configured. Missing, malformed, expired or wrongly signed: 401.',
    })
    .build();
  return harden(SwaggerModule.createDocument(app, config));
}

/** Headers of every answer (API.md "Conventions"), referenced from each response. */
const HEADERS = {
  'RateLimit-Limit': {
    description: 'requests allowed in the current window (the tighter of the per-subject and per-address limits)',
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 1_000_000 },
  },
  'RateLimit-Remaining': { description: 'requests left in the current window', schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 1_000_000 } },
  'RateLimit-Reset': { description: 'seconds until the window resets', schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 3600 } },
  'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 3600 } },
  'Access-Control-Allow-Origin': {
    description: 'sent only to a browser on one of the origins CORS_ORIGINS names (none by default): that origin',
    required: false,
    schema: { type: 'string', format: 'uri', maxLength: 2048 },
  },
} as const;
const ANSWER_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Access-Control-Allow-Origin'] as const;
const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Answers any /v1 operation may give, whatever it does: the guard, the rate limits, a fault, the store down. */
const ALWAYS: readonly ErrorCode[] = ['unauthenticated', 'forbidden', 'rate-limited', 'internal', 'unavailable'];

/**
 * What the generated document lacks and the contract says (API.md "Conventions"): every /v1
 * operation documents the answers every route may give, every answer its rate-limit and CORS
 * headers (a 429 also Retry-After). Probes (/health) are not rate limited, not part of the API, and left out
 * like /metrics (OPERATIONS.md).
 */
function harden(document: OpenAPIObject): OpenAPIObject {
  const errorSchema = jsonSchema(ErrorBody, 'output');
  document.components = { ...document.components, headers: { ...document.components?.headers, ...HEADERS } };
  const tags = new Set<string>();
  for (const path of Object.keys(document.paths)) {
    if (!path.startsWith('/v1/')) {
      delete document.paths[path];
      continue;
    }
    for (const operation of Object.values(document.paths[path]!) as OperationObject[]) {
      if (typeof operation !== 'object' || !operation?.responses) continue;
      for (const tag of operation.tags ?? []) tags.add(tag);
      for (const code of ALWAYS) {
        const status = String(ERRORS[code].status);
        operation.responses[status] ??= { description: `${code}: ${ERRORS[code].description}`, content: { 'application/json': { schema: errorSchema } } };
      }
      for (const [status, response] of Object.entries(operation.responses) as [string, ResponseObject][]) {
        response.headers = { ...response.headers, ...Object.fromEntries(ANSWER_HEADERS.map((name) => [name, ref(name)])) };
        if (status === '429') response.headers['Retry-After'] = ref('Retry-After');
      }
    }
  }
  document.tags = [...tags].sort().map((name) => ({ name }));
  return document;
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
