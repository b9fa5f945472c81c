import { randomUUID } from 'node:crypto';
import type { Role } from '../../src/access/actor';
import { ErrorBody } from '../../src/http/error-response';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService, type TestService, type TestResponse } from '../support/test-app';

type As = { agency: string; roles: Role[] };
const op = (agency: string): As => ({ agency, roles: ['operator'] });
const dpo = (agency: string): As => ({ agency, roles: ['dpo'] });

/** API.md "Conventions": the error body, the no-store and request id every /v1 answer carries, and helmet's headers. */
function expectApiError(response: TestResponse, status: number, error: string) {
  expect({ status: response.status, error: response.body?.error }).toEqual({ status, error });
  expect(ErrorBody.safeParse(response.body).success).toBe(true);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('x-powered-by')).toBeNull();
}

describe('answers the router gives before any route runs', () => {
  let service: TestService;
  let caseId: string;

  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
    const referral = await service.request('POST', '/v1/referrals', { as: op(AGENCIES.cpi), body: { person: PERSON, needs: ['employment'] } });
    if (referral.status !== 201) throw new Error(`referral: ${referral.status} ${JSON.stringify(referral.body)}`);
    caseId = referral.body.caseId;
  });
  afterAll(async () => service?.stop());

  describe('a path whose percent-encoding does not decode', () => {
    it.each([
      ['GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}%`, dpo(AGENCIES.cpi)],
      ['POST', `/v1/subjects/${PERSON.fiscalCode}%ZZ/erasure`, { agency: AGENCIES.sds, roles: ['admin'] as Role[] }],
      ['GET', `/v1/cases/${PERSON.fiscalCode}%E0%A4%A`, op(AGENCIES.cpi)],
    ])('answers %s %s with a 400 validation that does not repeat the path', async (method, path, as) => {
      const response = await service.request(method, path, { as, body: method === 'POST' ? { reason: 'request-of-the-person' } : undefined });
      expectApiError(response, 400, 'validation');
      expect(response.body.message).toBe('the path is not a valid URL: a percent-encoded character is malformed');
      expect(JSON.stringify(response.body)).not.toContain(PERSON.fiscalCode);
    });

    it('answers the same without a token: the path is refused before any route is found', async () => {
      const response = await service.request('GET', `/v1/access-trail/subjects/${PERSON.fiscalCode}%`);
      expectApiError(response, 400, 'validation');
      expect(JSON.stringify(response.body)).not.toContain(PERSON.fiscalCode);
    });

    it('is logged like any other answer, with its request id and none of its path', async () => {
      const requestId = randomUUID();
      const response = await service.request('POST', `/v1/subjects/${PERSON.fiscalCode}%ZZ/erasure`, { headers: { 'x-request-id': requestId } });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-request-id')).toBe(requestId);
      const line = service.logs.map((l) => JSON.parse(l)).find((l) => l.reqId === requestId && l.res?.statusCode === 400);
      // The router could not decode it, so no route matched: nothing of the path is written.
      expect(line).toMatchObject({ req: { method: 'POST', path: '[no route]' } });
      expect(service.logs.join('\n')).not.toContain(PERSON.fiscalCode);
    });
  });

  describe('a path parameter longer than the router would take by default (100 characters)', () => {
    const long = `${PERSON.fiscalCode}${'A'.repeat(150)}`;

    it('reaches its route: a 400 validation naming the parameter, without repeating it', async () => {
      const response = await service.request('GET', `/v1/access-trail/subjects/${long}`, { as: dpo(AGENCIES.cpi) });
      expectApiError(response, 400, 'validation');
      expect(response.body.issues.map((i: { path: string }) => i.path)).toEqual(['params.fiscalCode']);
      expect(JSON.stringify(response.body)).not.toContain(PERSON.fiscalCode);
    });

    it('is checked after the token, as on any route: 401 without one', async () => {
      const response = await service.request('GET', `/v1/cases/${'0'.repeat(300)}`);
      expectApiError(response, 401, 'unauthenticated');
    });

    it('answers a case read with the same 400 as any malformed case id', async () => {
      const response = await service.request('GET', `/v1/cases/${caseId}${'0'.repeat(200)}`, { as: op(AGENCIES.cpi) });
      expectApiError(response, 400, 'validation');
      expect(response.body.issues.map((i: { path: string }) => i.path)).toEqual(['params.id']);
    });
  });

  describe('a refused read with an X-Purpose that is not valid', () => {
    const badPurpose = { 'x-purpose': 'asked by RSSMRA85T10A562S; urgent!' };

    it('answers 403, not 400, to a caller without the role, and records the refusal for the DPO', async () => {
      const requestId = randomUUID();
      const refused = await service.request('GET', `/v1/cases/${caseId}`, {
        as: { agency: AGENCIES.cpi, roles: ['auditor'] },
        headers: { ...badPurpose, 'x-request-id': requestId },
      });
      expectApiError(refused, 403, 'forbidden');
      const trail = await service.request('GET', `/v1/access-trail?scope=by-us&caseId=${caseId}`, { as: dpo(AGENCIES.cpi) });
      expect(trail.status).toBe(200);
      const forbidden = trail.body.items.filter((r: { outcome: string }) => r.outcome === 'forbidden');
      expect(forbidden).toHaveLength(1);
      // The purpose the caller gave was not valid: the record says the default one, as for a refusal without X-Purpose.
      expect(forbidden[0]).toMatchObject({ action: 'case.read', caseId, outcome: 'forbidden', roles: ['auditor'], purpose: 'case-management', categories: [] });
      expect(JSON.stringify(trail.body)).not.toContain(PERSON.fiscalCode);
      const stored = await service.store.readAll({ maxCount: 100_000, streamPrefixes: ['trail-'] });
      expect(stored.find((e) => e.metadata.correlationId === requestId)).toMatchObject({ data: { outcome: 'forbidden', caseId } });
    });

    it('still answers 400 to a caller with the role', async () => {
      const response = await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi), headers: badPurpose });
      expectApiError(response, 400, 'validation');
      expect(response.body.issues.map((i: { path: string }) => i.path)).toEqual(['headers.x-purpose']);
    });

    it('takes a purpose code only: no free text, nothing shaped like a fiscal code, whatever its case', async () => {
      for (const purpose of ['Mario Rossi', 'verifica pais', 'VERIFICA-PAIS', PERSON.fiscalCode.toLowerCase(), `verifica:${PERSON.fiscalCode.toLowerCase()}`, 'x'.repeat(65)]) {
        const response = await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi), headers: { 'x-purpose': purpose } });
        expect({ purpose, status: response.status }).toEqual({ purpose, status: 400 });
      }
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi), headers: { 'x-purpose': 'verifica-pais' } })).status).toBe(200);
    });
  });
  describe('a body sent compressed', () => {
    it('answers 415 before reading it, and writes nothing', async () => {
      const { gzipSync } = await import('node:zlib');
      const body = JSON.stringify({ notes: [{ category: 'common', text: 'sent compressed' }] });
      const before = await service.request('GET', `/v1/cases/${caseId}`, { as: op(AGENCIES.cpi) });
      for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
        const refused = await service.request('POST', `/v1/cases/${caseId}/notes`, {
          as: op(AGENCIES.cpi),
          rawBody: gzipSync(body),
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        });
        expectApiError(refused, 415, 'unsupported-media-type');
        expect(refused.body.message).toBe('send the body uncompressed: no Content-Encoding is accepted');
      }
      const identity = await service.request('POST', `/v1/cases/${caseId}/notes`, {
        as: op(AGENCIES.cpi),
        rawBody: body,
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      });
      expect(identity.status).toBe(201);
      expect(identity.body.revision).toBe(before.body.revision + 1);
    });
  });
  describe("a request Node's HTTP parser refuses", () => {
    /** The raw answer to raw bytes sent on a new connection, once the service closes it. */
    async function raw(bytes: string): Promise<string> {
      const { connect } = await import('node:net');
      const { port } = new URL(service.url);
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(bytes);
      await closed;
      return received;
    }

    it.each([
      ['a request line over the limit', `GET /v1/cases/${PERSON.fiscalCode}${'A'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'the request line and headers are over'],
      ['a method that does not exist', 'FOO /v1/cases HTTP/1.1\r\nHost: x\r\n\r\n', 'the request is not valid HTTP/1.1'],
      ['a control character in a header', `GET /v1/cases HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${PERSON.fiscalCode}\u0001\r\n\r\n`, 'the request is not valid HTTP/1.1'],
    ])('answers %s with a 400 validation in the API shape, no-store, and no part of the request', async (_, request, message) => {
      const answer = await raw(request);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head!.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(head).toMatch(/^cache-control: no-store$/im);
      expect(head).toMatch(/^x-request-id: [0-9a-f-]{36}$/im);
      const parsed = JSON.parse(body!) as unknown;
      expect(ErrorBody.safeParse(parsed).success).toBe(true);
      expect(parsed).toEqual({ error: 'validation', message: expect.stringContaining(message) });
      expect(answer).not.toContain(PERSON.fiscalCode);
      expect(service.logs.join('\n')).not.toContain(PERSON.fiscalCode);
    });
  });
});
