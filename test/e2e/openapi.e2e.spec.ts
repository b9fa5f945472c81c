import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import type { Role } from '../../src/access/actor';
import { submitReferral } from '../../src/case/submit-referral';
import { jsonSchema } from '../../src/http/json-schema';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

const ROUTES = [
  'put /v1/protocol',
  'post /v1/protocol/proposals/{proposalId}/approval',
  'post /v1/subjects/{fiscalCode}/erasure',
  'get /v1/protocol',
  'post /v1/referrals',
  'post /v1/cases/{id}/consents',
  'post /v1/cases/{id}/consents/{consentId}/withdrawal',
  'post /v1/cases/{id}/taking-in-charge',
  'post /v1/cases/{id}/members',
  'post /v1/cases/{id}/members/{agency}/removal',
  'post /v1/cases/{id}/decisions',
  'post /v1/cases/{id}/plan/revisions',
  'post /v1/cases/{id}/plan/revisions/{n}/agreement',
  'post /v1/cases/{id}/plan/revisions/{n}/validation',
  'post /v1/cases/{id}/verifications',
  'post /v1/cases/{id}/non-compliance',
  'post /v1/cases/{id}/outcomes',
  'post /v1/cases/{id}/notes',
  'post /v1/cases/{id}/closure',
  'post /v1/cases/{id}/reopening',
  'get /v1/cases',
  'get /v1/cases/{id}',
  'get /v1/cases/{id}/history',
  'get /v1/reports/activity',
  'get /v1/access-trail',
  'get /v1/access-trail/subjects/{fiscalCode}',
  'get /v1/audit/events',
  'get /v1/audit/verify',
  'get /v1/audit/cases/{id}/view',
  'get /v1/audit/checkpoints',
  'post /v1/audit/checkpoints',
  'get /v1/audit/keys',
  'get /v1/audit/proofs/inclusion',
  'get /v1/audit/proofs/consistency',
];

describe('/openapi.json', () => {
  let service: TestService;
  let doc: { openapi: string; paths: Record<string, Record<string, any>> };
  beforeAll(async () => {
    service = await startService();
    doc = (await service.request('GET', '/openapi.json')).body;
  });
  afterAll(async () => service?.stop());

  it('is OpenAPI 3.1 and lists every route of the API (the probes, like /metrics, are operations, not API)', () => {
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual([...ROUTES].sort());
  });

  it('takes every request body from the zod schema that validates it, field for field', () => {
    const body = doc.paths['/v1/referrals']!.post.requestBody.content['application/json'].schema;
    expect(body).toEqual(jsonSchema(submitReferral.body));
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.person.required).toEqual(['fiscalCode', 'givenName', 'familyName', 'birthDate']);
  });

  it('documents the error body and the headers of the contract on every command', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Signing a checkpoint changes no case: it takes no body, no revision and no idempotency key.
        if (method !== 'post' || path === '/v1/audit/checkpoints') continue;
        const accepted = path.startsWith('/v1/protocol') ? ['200', '202'] : ['201'];
        expect({ path, codes: Object.keys(op.responses).sort() }).toEqual({
          path,
          codes: [...accepted, '400', '401', '403', '404', '412', '413', '415', '422', '429', '500', '503'],
        });
        expect(op.responses['422'].content['application/json'].schema.properties.rule).toBeDefined();
        expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['Idempotency-Key', 'If-Match']));
      }
    }
  });

  it('documents on every operation the answers any route may give, each with its schema and the rate-limit headers', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect({ path, method, codes: Object.keys(op.responses) }).toEqual({ path, method, codes: expect.arrayContaining(['401', '403', '429', '500', '503']) });
        expect(op.security).toEqual([{ bearer: [] }]);
        for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
          if (status >= '400') expect(response.content['application/json'].schema.properties.error).toBeDefined();
          expect(Object.keys(response.headers)).toEqual(expect.arrayContaining(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']));
          if (status === '429') expect(response.headers['Retry-After']).toBeDefined();
        }
      }
    }
    expect((doc as any).components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op: op as { tags?: string[]; parameters?: any[]; responses: Record<string, any> } })),
    );

  it('gives every success answer of every operation a schema, for each media type it answers in', () => {
    const missing: string[] = [];
    for (const { path, method, op } of operations()) {
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (success.length === 0) missing.push(`${method} ${path}: no 2xx answer`);
      for (const [status, response] of success) {
        const content = Object.entries((response.content ?? {}) as Record<string, { schema?: { type?: unknown; $ref?: unknown } }>);
        if (content.length === 0) missing.push(`${method} ${path} ${status}: no content`);
        for (const [type, media] of content) if (!media.schema?.type && !media.schema?.$ref) missing.push(`${method} ${path} ${status} ${type}: no schema`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('documents the headers the service sends: X-Request-Id, ETag on reads of a case and of the protocol, Idempotent-Replayed, x-next-cursor on CSV pages', () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect({ path, method, status, requestId: response.headers['X-Request-Id']?.schema }).toEqual({
          path,
          method,
          status,
          requestId: expect.objectContaining({ format: 'uuid' }),
        });
      }
    }
    expect(doc.paths['/v1/cases/{id}']!.get.responses['200'].headers.ETag.schema.pattern).toBe('^"\\d{1,18}"$');
    expect(doc.paths['/v1/protocol']!.get.responses['200'].headers.ETag).toBeDefined();
    expect(doc.paths['/v1/audit/checkpoints']!.post.responses['201'].headers['Idempotent-Replayed']).toMatchObject({ required: false });
    expect(Object.keys(doc.paths['/v1/referrals']!.post.responses['201'].headers)).toEqual(expect.arrayContaining(['Idempotent-Replayed', 'Location', 'X-Request-Id']));
    expect(Object.keys(doc.paths['/v1/protocol']!.put.responses['200'].headers)).toEqual(expect.arrayContaining(['ETag', 'Idempotent-Replayed', 'X-Request-Id']));
    for (const path of ['/v1/access-trail', '/v1/access-trail/subjects/{fiscalCode}']) {
      const answer = doc.paths[path]!.get.responses['200'];
      expect(Object.keys(answer.content).sort()).toEqual(['application/json', 'text/csv']);
      expect(answer.headers['x-next-cursor']).toMatchObject({ required: false });
    }
  });

  it('says that the protocol of a zone that has none answers 403, as the guard does, and never 404', async () => {
    // No test before the seeding one below signs a protocol.
    const none = await service.request('GET', '/v1/protocol', { as: { agency: AGENCIES.sds, roles: ['operator'] } });
    expect({ status: none.status, error: none.body.error }).toEqual({ status: 403, error: 'forbidden' });
    const responses = doc.paths['/v1/protocol']!.get.responses;
    expect(responses['404']).toBeUndefined();
    expect(responses['403'].description).toContain('no protocol yet');
  });

  it('pages every list as API.md "Conventions" says: limit 50 by default and 500 at most, an opaque cursor, nextCursor null at the end', () => {
    const lists = operations().filter(({ op }) => op.responses['200']?.content?.['application/json']?.schema?.properties?.nextCursor);
    expect(lists.map(({ path }) => path).sort()).toEqual(['/v1/access-trail', '/v1/access-trail/subjects/{fiscalCode}', '/v1/audit/checkpoints', '/v1/audit/events', '/v1/cases']);
    for (const { path, op } of lists) {
      const param = (name: string) => op.parameters?.find((p: { name: string; in: string }) => p.name === name && p.in === 'query')?.schema;
      expect({ path, limit: param('limit') }).toEqual({ path, limit: expect.objectContaining({ default: 50, maximum: 500, minimum: 1 }) });
      expect({ path, cursor: param('cursor')?.type }).toEqual({ path, cursor: 'string' });
      const body = op.responses['200'].content['application/json'].schema;
      const nextCursor = (body.properties.nextCursor.anyOf as Array<{ type: string }>).map((s) => s.type);
      expect({ path, maxItems: body.properties.items.maxItems, nextCursor }).toEqual({ path, maxItems: 500, nextCursor: ['string', 'null'] });
      expect(body.required).toEqual(expect.arrayContaining(['items', 'nextCursor']));
    }
  });

  it('describes what the reads answer: each answer of a seeded zone is valid under its documented schema', async () => {
    await signProtocol(service);
    const operator = { agency: AGENCIES.serd, roles: ['operator'] as Role[] };
    const referral = await service.request('POST', '/v1/referrals', {
      as: operator,
      body: { person: PERSON, needs: ['employment', 'addiction'], notes: [{ category: 'health', text: 'methadone programme, stable' }] },
    });
    const caseId: string = referral.body.caseId;
    const auditor = { agency: AGENCIES.coordination, roles: ['auditor'] as Role[] };
    const dpo = { agency: AGENCIES.serd, roles: ['dpo'] as Role[] };
    const checkpoint = await service.request('POST', '/v1/audit/checkpoints', { as: auditor });
    const reads: Array<[string, string, string, { agency: string; roles: Role[] }]> = [
      ['/v1/cases', '/v1/cases', 'get', operator],
      ['/v1/cases/{id}', `/v1/cases/${caseId}`, 'get', operator],
      ['/v1/cases/{id}/history', `/v1/cases/${caseId}/history`, 'get', operator],
      ['/v1/protocol', '/v1/protocol', 'get', operator],
      ['/v1/reports/activity', '/v1/reports/activity', 'get', { agency: AGENCIES.sds, roles: ['coordinator'] }],
      ['/v1/access-trail', '/v1/access-trail', 'get', dpo],
      ['/v1/access-trail/subjects/{fiscalCode}', `/v1/access-trail/subjects/${PERSON.fiscalCode}`, 'get', dpo],
      ['/v1/audit/events', '/v1/audit/events', 'get', auditor],
      ['/v1/audit/verify', '/v1/audit/verify', 'get', auditor],
      ['/v1/audit/cases/{id}/view', `/v1/audit/cases/${caseId}/view?agency=${AGENCIES.serd}&asOf=2100-01-01T00:00:00Z`, 'get', auditor],
      ['/v1/audit/checkpoints', '/v1/audit/checkpoints', 'get', auditor],
      ['/v1/audit/keys', '/v1/audit/keys', 'get', auditor],
      ['/v1/audit/proofs/inclusion', '/v1/audit/proofs/inclusion?position=1', 'get', auditor],
      ['/v1/audit/proofs/consistency', `/v1/audit/proofs/consistency?from=1&to=${checkpoint.body.size}`, 'get', auditor],
    ];
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
    for (const [template, path, method, as] of reads) {
      const answer = await service.request('GET', path, { as });
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      const validate = ajv.compile(doc.paths[template]![method].responses['200'].content['application/json'].schema);
      expect({ path, valid: validate(answer.body), errors: validate.errors ?? null }).toEqual({ path, valid: true, errors: null });
      expect({ path, requestId: answer.headers.get('x-request-id') }).toEqual({ path, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
    const referralAnswer = doc.paths['/v1/referrals']!.post.responses['201'].content['application/json'].schema;
    expect(ajv.validate(referralAnswer, referral.body)).toBe(true);
  });

  it('serves Swagger UI at /docs on the same document', async () => {
    const page = await service.request('GET', '/docs');
    expect(page.body).toContain('swagger-ui-bundle.js');
    expect((await service.request('GET', '/docs/init.js')).body).toContain("url: '/openapi.json'");
    expect(z.string().parse(page.body).length).toBeGreaterThan(100);
  });
});
