import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Role } from '../../src/access/actor';
import { createApp, type LedgerApp } from '../../src/app';
import { loadOrCreateLocalSigningKey } from '../../src/access/local-signing-key';
import { issueToken } from '../../src/access/tokens';
import type { Clock } from '../../src/ledger/clock';
import { loadConfig } from '../../src/config';
import type { EventStore } from '../../events/event-store';
import { AGENCIES, PROTOCOL_TERMS, ZONE } from './fixtures';

export interface TestService {
  readonly url: string;
  readonly ledger: LedgerApp;
  readonly store: EventStore;
  readonly dataDir: string;
  /** Every log line written so far. */
  readonly logs: string[];
  token(agency: string, roles?: Role[], options?: { zone?: string; sub?: string; ttlSeconds?: number }): Promise<string>;
  /** A JSON request; `token` may be an agency id (a token is issued) or a raw Authorization value. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Closes the service; removes its data folder if it made it, unless asked to keep it. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface RequestOptions {
  as?: { agency: string; roles?: Role[]; zone?: string; sub?: string };
  authorization?: string;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * The real service, over real HTTP on a loopback port, with the real embedded store in a fresh
 * data folder. Tests talk to it only through HTTP (and read the store to check durability).
 */
/** `consentExpiryIntervalMs`: 0 (the default here) turns the expiry job off; null leaves it at the service's own default. */
export async function startService(options: { clock?: Clock; env?: Record<string, string>; consentExpiryIntervalMs?: number | null; dataDir?: string } = {}): Promise<TestService> {
  // A data folder given is the caller's to remove; a fresh one is removed on stop (unless kept).
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  // Tests send requests back to back as one subject from one address: the rate limits are lifted
  // unless a test sets them (test/e2e/limits.e2e.spec.ts).
  const unlimited = { RATE_LIMIT_PER_SUBJECT: '1000000', RATE_LIMIT_PER_ADDRESS: '1000000' };
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...unlimited, ...options.env });
  const ledger = await createApp({
    config,
    clock: options.clock,
    logDestination,
    consentExpiryIntervalMs: options.consentExpiryIntervalMs === null ? undefined : (options.consentExpiryIntervalMs ?? 0),
    retentionIntervalMs: 0,
  });
  await ledger.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ledger.app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  const key = await loadOrCreateLocalSigningKey(dataDir);
  const tokens = new Map<string, string>();

  const token: TestService['token'] = async (agency, roles = ['operator'], opts = {}) => {
    const cacheKey = JSON.stringify([agency, roles, opts]);
    let t = tokens.get(cacheKey);
    if (!t) {
      t = await issueToken(key, { zone: opts.zone ?? ZONE, agency, sub: opts.sub ?? `op-${agency}`, roles, ttlSeconds: opts.ttlSeconds ?? 3600 });
      tokens.set(cacheKey, t);
    }
    return t;
  };

  const request: TestService['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.as) headers.authorization = `Bearer ${await token(opts.as.agency, opts.as.roles, opts.as)}`;
    if (opts.authorization !== undefined) headers.authorization = opts.authorization;
    let body: string | Buffer | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  return {
    url,
    ledger,
    store: ledger.parts.store,
    dataDir,
    logs,
    token,
    request,
    stop: async (stopping = {}) => {
      await ledger.close();
      if (!options.dataDir && !stopping.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signs the Valdinievole protocol as the SdS admin. */
export async function signProtocol(service: TestService, terms: unknown = PROTOCOL_TERMS): Promise<TestResponse> {
  const response = await service.request('PUT', '/v1/protocol', { as: { agency: AGENCIES.sds, roles: ['admin'] }, body: terms });
  if (response.status !== 200) throw new Error(`protocol not signed: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}
