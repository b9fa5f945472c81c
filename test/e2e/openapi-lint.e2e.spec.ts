import { lintOpenApi } from '../support/spectral';
import { startService, type TestService } from '../support/test-app';

/**
 * API.md "Conventions": the document at /openapi.json passes what API teams run on it, Spectral's
 * `spectral:oas` and the OWASP API Security ruleset (2023), with no error. Run offline through
 * Spectral's JS API (test/support/spectral.ts); warnings are allowed and listed in the report.
 */
/** Spectral's DiagnosticSeverity.Error. */
const ERROR = 0;

describe('/openapi.json under Spectral (spectral:oas and OWASP API Security)', () => {
  let service: TestService;
  afterAll(async () => service?.stop());

  it('has no error', async () => {
    service = await startService();
    const document = (await service.request('GET', '/openapi.json')).body;
    const diagnostics = await lintOpenApi(document);
    const errors = diagnostics.filter((d) => d.severity === ERROR).map((d) => `${String(d.code)} at ${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
  }, 60_000);

  it('is run with both rulesets: each finds the faults it is made for', async () => {
    const faulty = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: { '/x': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'string' } } } } } } } },
    };
    const codes = new Set((await lintOpenApi(faulty)).filter((d) => d.severity === ERROR).map((d) => String(d.code)));
    expect([...codes]).toEqual(expect.arrayContaining(['owasp:api4:2023-string-limit', 'owasp:api4:2023-rate-limit']));
    const oas = await lintOpenApi({ ...faulty, info: { version: '1' } });
    expect(oas.map((d) => String(d.code))).toContain('oas3-schema');
  }, 60_000);
});
