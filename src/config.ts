import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Configuration from the environment (API.md "Configuration"), checked at start: a bad value
 * stops start-up with one line naming it. Empty variables count as unset.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Decimal digits (spaces around them allowed), as a number: not `Number()`'s reading, which
 * takes a blank value for 0 and `0x50` or `1e3` for numbers.
 */
const digits = (error: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,15}$/, error)
    .transform(Number);

/** A value of spaces only is a mistake, not a name: said, rather than taken as a folder called " ". */
const notBlank = () => z.string().refine((value) => value.trim() !== '', 'must not be blank');

/** A whole number of some unit in [min, max], from the environment. */
const whole = (unit: string, min: number, max: number) => digits(`must be a whole number of ${unit}`).refine((n) => n >= min && n <= max, `must be from ${min} to ${max} ${unit}`);

const Env = z
  .object({
    PORT: digits('must be a port number')
      .refine((n) => n <= 65535, 'must be a port number')
      .default(3000),
    HOST: notBlank().default('127.0.0.1'),
    DATA_DIR: notBlank().default('./data'),
    EVENTSTORE_URL: z
      .string()
      .regex(/^(esdb|kurrentdb|kurrent)(\+discover)?:\/\/[^\s]+$/, 'must be an esdb:// or kurrentdb:// connection string')
      .optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    // An identity provider's keys travel over TLS only: over http anyone on the path could hand the service a key of theirs.
    AUTH_JWKS_URL: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    AUTH_PUBLIC_KEY_FILE: z
      .string()
      .refine((file) => existsSync(file), 'names a file that does not exist')
      .optional(),
    MASTER_KEY_DIR: notBlank().optional(),
    AUDIT_KEY_DIR: notBlank().optional(),
    RATE_LIMIT_PER_SUBJECT: whole('requests', 1, 1_000_000).default(50),
    RATE_LIMIT_PER_ADDRESS: whole('requests', 1, 1_000_000).default(200),
    RATE_LIMIT_WINDOW_MS: whole('milliseconds', 100, 3_600_000).default(1_000),
    HTTP_HEADERS_TIMEOUT_MS: whole('milliseconds', 100, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: whole('milliseconds', 100, 3_600_000).default(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: whole('milliseconds', 100, 600_000).default(72_000),
    HTTP_CONNECTION_TIMEOUT_MS: whole('milliseconds', 0, 3_600_000).default(300_000),
    // Closing the stores takes a moment: a grace of 0 would end every stop in exit 1, the stores unclosed.
    SHUTDOWN_GRACE_MS: whole('milliseconds', 1_000, 600_000).default(10_000),
    CORS_ORIGINS: z
      .string()
      .regex(/^https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*$/, 'must be a comma-separated list of origins (https://host[:port])')
      .optional(),
    AUDIT_CHECKPOINT_INTERVAL_S: digits('must be a whole number of seconds')
      .refine((n) => n === 0 || (n >= 10 && n <= 86_400), 'must be 0 (off) or from 10 to 86400 seconds')
      .default(600),
    AUTH_ISSUER: notBlank().optional(),
    AUTH_AUDIENCE: notBlank().optional(),
  })
  .refine((env) => !(env.AUTH_JWKS_URL && env.AUTH_PUBLIC_KEY_FILE), {
    path: ['AUTH_JWKS_URL'],
    message: 'set AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE, not both',
  })
  // An identity provider (its JWKS or one of its public keys) signs for many services: its tokens
  // must name this one (aud) and come from it (iss), or a token meant for another service would pass (API.md).
  .refine((env) => !(env.AUTH_JWKS_URL || env.AUTH_PUBLIC_KEY_FILE) || env.AUTH_ISSUER, {
    path: ['AUTH_ISSUER'],
    message: 'is required with AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE (the iss its tokens carry)',
  })
  .refine((env) => !(env.AUTH_JWKS_URL || env.AUTH_PUBLIC_KEY_FILE) || env.AUTH_AUDIENCE, {
    path: ['AUTH_AUDIENCE'],
    message: 'is required with AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE (the aud its tokens carry for this service)',
  })
  .refine((env) => env.HTTP_HEADERS_TIMEOUT_MS <= env.HTTP_REQUEST_TIMEOUT_MS, {
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
    message: 'must not be more than HTTP_REQUEST_TIMEOUT_MS',
  });

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly eventStoreUrl?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Where the master keys are (a mounted secret); DATA_DIR/keys/master by default. */
  readonly masterKeyDir?: string;
  /** Where the checkpoint-signing keys are (a mounted secret); DATA_DIR/audit/keys by default. */
  readonly auditKeyDir?: string;
  /** How often the zones' logs are signed when they have grown (s); 0: only on demand. */
  readonly auditCheckpointIntervalS: number;
  /** Floods and slow clients (README "Configuration", OPERATIONS.md "Limits"). */
  readonly limits: Limits;
  readonly auth:
    | { readonly mode: 'local' }
    | { readonly mode: 'jwks'; readonly url: string; readonly issuer: string; readonly audience: string }
    | { readonly mode: 'public-key'; readonly file: string; readonly issuer: string; readonly audience: string };
}

export interface Limits {
  /** Requests per window per token subject (zone, agency, sub). */
  readonly perSubject: number;
  /** Requests per window per client address. */
  readonly perAddress: number;
  readonly windowMs: number;
  /** Node's headersTimeout: the request line and headers must arrive within it. */
  readonly headersTimeoutMs: number;
  /** Node's requestTimeout: the whole request (headers and body) must arrive within it. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after it. */
  readonly keepAliveTimeoutMs: number;
  /** Fastify's connectionTimeout: a socket with no activity for this long is closed (0: never). */
  readonly connectionTimeoutMs: number;
  /** On SIGTERM, in-flight requests have this long to finish before the process exits. */
  readonly shutdownGraceMs: number;
  /** The browser origins allowed to call the API (CORS); none by default. */
  readonly corsOrigins: readonly string[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    // A URL may carry credentials (esdb://user:password@…, a token in a query): its value is not repeated.
    const value = name.endsWith('_URL') ? undefined : present[name];
    throw new ConfigError(`configuration: ${name} ${issue.message}${value === undefined ? '' : ` (got "${value}")`}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.DATA_DIR),
    eventStoreUrl: e.EVENTSTORE_URL,
    logLevel: e.LOG_LEVEL,
    ...(e.MASTER_KEY_DIR ? { masterKeyDir: resolve(e.MASTER_KEY_DIR) } : {}),
    ...(e.AUDIT_KEY_DIR ? { auditKeyDir: resolve(e.AUDIT_KEY_DIR) } : {}),
    auditCheckpointIntervalS: e.AUDIT_CHECKPOINT_INTERVAL_S,
    limits: {
      perSubject: e.RATE_LIMIT_PER_SUBJECT,
      perAddress: e.RATE_LIMIT_PER_ADDRESS,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionTimeoutMs: e.HTTP_CONNECTION_TIMEOUT_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      corsOrigins: e.CORS_ORIGINS ? e.CORS_ORIGINS.split(',') : [],
    },
    auth: e.AUTH_JWKS_URL
      ? { mode: 'jwks', url: e.AUTH_JWKS_URL, issuer: e.AUTH_ISSUER!, audience: e.AUTH_AUDIENCE! }
      : e.AUTH_PUBLIC_KEY_FILE
        ? { mode: 'public-key', file: resolve(e.AUTH_PUBLIC_KEY_FILE), issuer: e.AUTH_ISSUER!, audience: e.AUTH_AUDIENCE! }
        : { mode: 'local' },
  };
}
