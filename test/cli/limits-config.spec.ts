import { loadConfig } from '../../src/config';

describe('the limits in the configuration (OPERATIONS.md "Limits")', () => {
  it('has defaults that fit a busy team', () => {
    expect(loadConfig({}).limits).toEqual({
      perSubject: 50,
      perAddress: 200,
      windowMs: 1_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      connectionTimeoutMs: 300_000,
      shutdownGraceMs: 10_000,
      corsOrigins: [],
    });
  });

  it('reads each from the environment', () => {
    const limits = loadConfig({
      RATE_LIMIT_PER_SUBJECT: '10',
      RATE_LIMIT_PER_ADDRESS: '40',
      RATE_LIMIT_WINDOW_MS: '2000',
      HTTP_HEADERS_TIMEOUT_MS: '5000',
      HTTP_REQUEST_TIMEOUT_MS: '20000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '6000',
      HTTP_CONNECTION_TIMEOUT_MS: '0',
      SHUTDOWN_GRACE_MS: '3000',
      CORS_ORIGINS: 'https://a.example.org,https://b.example.org:8443',
    }).limits;
    expect(limits).toMatchObject({
      perSubject: 10,
      perAddress: 40,
      windowMs: 2000,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 20000,
      connectionTimeoutMs: 0,
      shutdownGraceMs: 3000,
    });
    expect(limits.corsOrigins).toEqual(['https://a.example.org', 'https://b.example.org:8443']);
  });

  it('refuses a bad value with one line naming it', () => {
    expect(() => loadConfig({ RATE_LIMIT_PER_SUBJECT: '0' })).toThrow('configuration: RATE_LIMIT_PER_SUBJECT must be from 1 to 1000000 requests (got "0")');
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: 'soon' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS must be a whole number of milliseconds/);
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow('configuration: HTTP_HEADERS_TIMEOUT_MS must not be more than HTTP_REQUEST_TIMEOUT_MS (got "40000")');
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS must be a comma-separated list of origins/);
  });
});
