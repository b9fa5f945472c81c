import { z } from 'zod';
import { submitReferral } from '../../src/case/submit-referral';
import { jsonSchema } from '../../src/http/json-schema';
import { startService, type TestService } from '../support/test-app';

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

  it('serves Swagger UI at /docs on the same document', async () => {
    const page = await service.request('GET', '/docs');
    expect(page.body).toContain('swagger-ui-bundle.js');
    expect((await service.request('GET', '/docs/init.js')).body).toContain("url: '/openapi.json'");
    expect(z.string().parse(page.body).length).toBeGreaterThan(100);
  });
});
