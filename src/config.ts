import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Configuration from the environment (API.md "Configuration"), checked at start: a bad value
 * stops start-up with one line naming it. Empty variables count as unset.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const Env = z
  .object({
    PORT: z.coerce.number({ error: 'must be a port number' }).int('must be a port number').min(0).max(65535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    DATA_DIR: z.string().default('./data'),
    EVENTSTORE_URL: z
      .string()
      .regex(/^(esdb|kurrentdb|kurrent)(\+discover)?:\/\/[^\s]+$/, 'must be an esdb:// or kurrentdb:// connection string')
      .optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    AUTH_PUBLIC_KEY_FILE: z
      .string()
      .refine((file) => existsSync(file), 'names a file that does not exist')
      .optional(),
    MASTER_KEY_DIR: z.string().optional(),
    AUDIT_KEY_DIR: z.string().optional(),
    AUDIT_CHECKPOINT_INTERVAL_S: z.coerce
      .number({ error: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .refine((n) => n === 0 || (n >= 10 && n <= 86_400), 'must be 0 (off) or from 10 to 86400 seconds')
      .default(600),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
  })
  .refine((env) => !(env.AUTH_JWKS_URL && env.AUTH_PUBLIC_KEY_FILE), {
    path: ['AUTH_JWKS_URL'],
    message: 'set AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE, not both',
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
  readonly auth:
    | { readonly mode: 'local' }
    | { readonly mode: 'jwks'; readonly url: string; readonly issuer?: string; readonly audience?: string }
    | { readonly mode: 'public-key'; readonly file: string; readonly issuer?: string; readonly audience?: string };
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
    const value = present[name];
    throw new ConfigError(`configuration: ${name} ${issue.message}${value === undefined ? '' : ` (got "${value}")`}`);
  }
  const e = parsed.data;
  const verification = { issuer: e.AUTH_ISSUER, audience: e.AUTH_AUDIENCE };
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.DATA_DIR),
    eventStoreUrl: e.EVENTSTORE_URL,
    logLevel: e.LOG_LEVEL,
    ...(e.MASTER_KEY_DIR ? { masterKeyDir: resolve(e.MASTER_KEY_DIR) } : {}),
    ...(e.AUDIT_KEY_DIR ? { auditKeyDir: resolve(e.AUDIT_KEY_DIR) } : {}),
    auditCheckpointIntervalS: e.AUDIT_CHECKPOINT_INTERVAL_S,
    auth: e.AUTH_JWKS_URL
      ? { mode: 'jwks', url: e.AUTH_JWKS_URL, ...verification }
      : e.AUTH_PUBLIC_KEY_FILE
        ? { mode: 'public-key', file: resolve(e.AUTH_PUBLIC_KEY_FILE), ...verification }
        : { mode: 'local' },
  };
}
