import { ConfigError, loadConfig } from '../../src/config';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  it('has the defaults of API.md', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, logLevel: 'info', eventStoreUrl: undefined, auth: { mode: 'local' } });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', EVENTSTORE_URL: '' })).toMatchObject({ port: 3000, eventStoreUrl: undefined });
  });

  it('reads numbers as decimal digits: a blank value is not 0, nor 0x50 eighty', () => {
    for (const [name, value] of [
      ['PORT', ' '],
      ['PORT', '0x50'],
      ['PORT', '1e3'],
      ['PORT', '-1'],
      ['HTTP_CONNECTION_TIMEOUT_MS', ' '],
      ['SHUTDOWN_GRACE_MS', '  '],
      ['AUDIT_CHECKPOINT_INTERVAL_S', ' '],
      ['RATE_LIMIT_PER_SUBJECT', '5.5'],
    ] as const) {
      expect(errorOf({ [name]: value })).toMatch(new RegExp(`^configuration: ${name} `));
    }
    expect(loadConfig({ PORT: ' 8080 ', AUDIT_CHECKPOINT_INTERVAL_S: '0', HTTP_CONNECTION_TIMEOUT_MS: '0' })).toMatchObject({
      port: 8080,
      auditCheckpointIntervalS: 0,
      limits: { connectionTimeoutMs: 0 },
    });
  });

  it('refuses a value of spaces only where a name or a folder goes', () => {
    for (const name of ['HOST', 'DATA_DIR', 'MASTER_KEY_DIR', 'AUDIT_KEY_DIR']) expect(errorOf({ [name]: '  ' })).toBe(`configuration: ${name} must not be blank (got "  ")`);
  });

  it('gives a stop at least a second to close the stores', () => {
    expect(errorOf({ SHUTDOWN_GRACE_MS: '0' })).toMatch(/^configuration: SHUTDOWN_GRACE_MS must be from 1000 to 600000 milliseconds/);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '1000' }).limits.shutdownGraceMs).toBe(1000);
  });

  it('names the bad setting in one line', () => {
    for (const [env, name] of [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ EVENTSTORE_URL: 'http://localhost:2113' }, 'EVENTSTORE_URL'],
      [{ AUTH_JWKS_URL: 'not a url' }, 'AUTH_JWKS_URL'],
      [{ AUTH_PUBLIC_KEY_FILE: '/nonexistent/key.pem' }, 'AUTH_PUBLIC_KEY_FILE'],
    ] as const) {
      const message = errorOf(env);
      expect(message).toMatch(new RegExp(`^configuration: ${name} `));
      expect(message).not.toContain('\n');
    }
  });

  it('accepts EventStoreDB and KurrentDB connection strings', () => {
    expect(loadConfig({ EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' }).eventStoreUrl).toBe('esdb://localhost:2113?tls=false');
    expect(loadConfig({ EVENTSTORE_URL: 'kurrentdb+discover://a:2113,b:2113' }).eventStoreUrl).toBe('kurrentdb+discover://a:2113,b:2113');
  });

  it('holds an identity provider to https, an issuer and an audience; a public key file to an issuer and an audience', () => {
    const jwks = { AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'https://idp.example/', AUTH_AUDIENCE: 'equipe-ledger' };
    for (const [env, name] of [
      [{ ...jwks, AUTH_JWKS_URL: 'http://idp.example/jwks' }, 'AUTH_JWKS_URL'],
      [{ ...jwks, AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks' }, 'AUTH_JWKS_URL'],
      [{ ...jwks, AUTH_ISSUER: '' }, 'AUTH_ISSUER'],
      [{ ...jwks, AUTH_AUDIENCE: '' }, 'AUTH_AUDIENCE'],
    ] as const) {
      const message = errorOf(env);
      expect(message).toMatch(new RegExp(`^configuration: ${name} (must be an https URL|is required with AUTH_JWKS_URL)`));
      expect(message).not.toContain('\n');
    }
    expect(loadConfig(jwks).auth).toEqual({ mode: 'jwks', url: jwks.AUTH_JWKS_URL, issuer: jwks.AUTH_ISSUER, audience: jwks.AUTH_AUDIENCE });
    // One of the provider's keys trusts its tokens for every service it signs for, unless they must name this one.
    expect(errorOf({ AUTH_PUBLIC_KEY_FILE: __filename, AUTH_AUDIENCE: 'equipe-ledger' })).toMatch(
      /^configuration: AUTH_ISSUER is required with AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE/,
    );
    expect(errorOf({ AUTH_PUBLIC_KEY_FILE: __filename, AUTH_ISSUER: 'https://idp.example/' })).toMatch(/^configuration: AUTH_AUDIENCE is required/);
    expect(loadConfig({ AUTH_PUBLIC_KEY_FILE: __filename, AUTH_ISSUER: 'https://idp.example/', AUTH_AUDIENCE: 'equipe-ledger' }).auth).toMatchObject({
      mode: 'public-key',
      issuer: 'https://idp.example/',
      audience: 'equipe-ledger',
    });
  });

  it('repeats a bad value to the operator, but never a URL, which may carry credentials', () => {
    expect(errorOf({ PORT: 'eighty' })).toContain('(got "eighty")');
    const message = errorOf({ EVENTSTORE_URL: 'http://admin:changeit@localhost:2113' });
    expect(message).toMatch(/^configuration: EVENTSTORE_URL /);
    expect(message).not.toContain('changeit');
  });

  it('refuses two identity providers at once', () => {
    expect(errorOf({ AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_PUBLIC_KEY_FILE: __filename })).toMatch(/not both/);
  });
});

describe('the progress line of ledger rebuild', () => {
  it('says how many events, how far, how fast and how long is left', async () => {
    const { progressLine } = await import('../../src/cli');
    expect(progressLine(120_000, 0.25, 4)).toBe('rebuilding: 120000 events (25% of the ledger), 30000 events/s, about 12 s left');
  });
});
