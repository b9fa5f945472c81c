import 'reflect-metadata';
import cors from '@fastify/cors';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, maxHeaderSize } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { DestinationStream, Logger } from 'pino';
import { LedgerModule, type LedgerParts } from './app.module';
import { createTokenVerifier } from './access/tokens';
import { CaseLedger } from './case/case-ledger';
import { type Clock, systemClock } from './ledger/clock';
import type { Config } from './config';
import { ErrorFilter, sendError, storageFaults } from './http/error-filter';
import { storeReadiness, writableReadiness } from './http/health.controller';
import { Metrics } from './http/metrics';
import { RateLimits } from './http/rate-limits';
import { securityHeaders } from './http/security-headers';
import { setUpOpenApi } from './http/openapi';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { accessLogLine, createLogger } from './logging';
import { ProtocolLedger } from './protocol/protocol-ledger';
import { ProjectionRunner } from '../projections/projection-runner';
import { ReadModels } from '../projections/read-models';
import { discardStoppedBuild, removeViewsDb } from '../projections/views-db';
import { UnsupportedMediaType, ValidationFailed } from './errors';
import { ConsentExpiry } from './case/consent-expiry';
import { Disclosures } from './reads/disclosures';
import { ReadBarrier } from './reads/read-barrier';
import { type Projections, ProjectionThread } from './reads/projection-thread';
import { SqliteEventStore } from './store/sqlite-event-store';
import { comparePositions, parsePosition, type Position } from '../events/event-store';
import { ledgerReaderOf, openEventStore } from './store/open-event-store';
import { openAudit } from './audit/open-audit';
import { openKeyStore, readModelCrypto } from './keys/open-keys';
import { Erasures } from './subjects/erasures';
import { Retention } from './subjects/retention';

export interface AppOptions {
  readonly config: Config;
  readonly clock?: Clock;
  /** Where JSON logs go (stdout by default); tests capture them. */
  readonly logDestination?: DestinationStream;
  /** How often due authorisations are expired (ms); 0 turns the scheduler off (tests tick it). */
  readonly consentExpiryIntervalMs?: number;
  /** How often retention erases who is due (ms, a day by default); 0 turns it off (tests run it). */
  readonly retentionIntervalMs?: number;
  /**
   * Where the projection runner runs: in a worker thread (`ledger serve`: the views are computed
   * on the other core), or in this thread (tests, which run TypeScript sources).
   */
  readonly projections?: 'worker' | 'in-process';
  /** How often grown zones get a signed checkpoint (ms); config.auditCheckpointIntervalS by default, 0 turns it off. */
  readonly checkpointIntervalMs?: number;
}

export interface LedgerApp {
  readonly app: NestFastifyApplication;
  readonly parts: LedgerParts;
  /** Closes the HTTP server, then the stores. */
  close(): Promise<void>;
}

/** API.md "Conventions": bodies are JSON, at most 256 KiB. */
export const BODY_LIMIT = 256 * 1024;

/** A client's X-Request-Id becomes event metadata only if it is a UUID: anything else might carry personal data. */
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What the router raised before any route or hook ran, as an API.md error. A path whose
 * percent-encoding does not decode is a 400 `validation` whose message never repeats the path:
 * Fastify's own answer echoes it, and a path may hold a fiscal code.
 */
function frameworkError(error: FastifyError): unknown {
  if (error.code === 'FST_ERR_BAD_URL') return new ValidationFailed([], 'the path is not a valid URL: a percent-encoded character is malformed');
  // Unreachable while maxParamLength is the HTTP parser's own limit (createApp); in the API's shape should that change.
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return new ValidationFailed([], 'a path parameter is too long');
  return error;
}

/**
 * A request Node's HTTP parser refused: a 400 `validation` in the API's shape, naming no part of
 * the request (it may hold a fiscal code), and the connection closed. A request too slow to
 * arrive answers 408 as Fastify answers it (OPERATIONS.md "Limits"); a reset connection, nothing.
 */
function clientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const message = error.code === 'HPE_HEADER_OVERFLOW' ? `the request line and headers are over ${maxHeaderSize} bytes` : 'the request is not valid HTTP/1.1';
  const body = timeout ? '{"error":"Request Timeout","message":"Client Timeout","statusCode":408}' : JSON.stringify({ error: 'validation', message });
  socket.end(
    [
      timeout ? 'HTTP/1.1 408 Request Timeout' : 'HTTP/1.1 400 Bad Request',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      `X-Request-Id: ${randomUUID()}`,
      'X-Content-Type-Options: nosniff',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

function isAhead(views: string | undefined, head: Position | undefined): boolean {
  return views !== undefined && (head === undefined || comparePositions(parsePosition(views), head) > 0);
}

export async function createApp(options: AppOptions): Promise<LedgerApp> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger: Logger = createLogger(config.logLevel, options.logDestination);
  // One process per data folder, every file in it owner-only (src/data-folder.ts); let go when the key store closes, last.
  const keys = openKeyStore(config, { holdFolder: true });
  // With the projection worker, the worker checkpoints the embedded ledger's log (see SqliteEventStore).
  const store = await openEventStore(config, keys, { walCheckpoints: options.projections === 'worker' ? 'elsewhere' : 'auto' });
  // A key store restored from before an erasure holds keys the ledger says are destroyed: they go
  // before anything (the projection worker included) can read with them.
  await new Erasures(store, keys, clock).applyLedgerErasures();
  // Views made from another log (a folder moved between stores, a wiped server) are rebuilt, never resumed.
  const viewsFile = join(config.dataDir, 'views.db');
  // A `ledger rebuild` stopped halfway may have left the file torn (views-db.ts): computed again.
  if (discardStoppedBuild(viewsFile)) logger.warn('a rebuild of the views was stopped halfway: the views are computed again');
  const openViews = async () => ReadModels.open(viewsFile, readModelCrypto(keys), await store.identity(), ledgerReaderOf(store));
  let models = await openViews();
  // A commit is visible before it is durable (SqliteEventStore): after a power cut the ledger may
  // have lost a last commit the views had already copied. Views ahead of the ledger are rebuilt.
  if (viewsFile !== ':memory:' && isAhead(models.checkpoint(), await store.headPosition())) {
    logger.warn('the views are ahead of the ledger (a power cut lost its last commits): they are computed again');
    models.close();
    removeViewsDb(viewsFile);
    models = await openViews();
  }
  let projections: Projections;
  if (options.projections === 'worker') {
    const thread = new ProjectionThread(config, logger);
    if (store instanceof SqliteEventStore) store.onCommit(() => thread.wake());
    projections = thread;
  } else {
    projections = new ProjectionRunner(store, models, { onError: (err) => logger.error({ err }, 'projection failed') });
  }
  const barrier = new ReadBarrier(store, projections, config.eventStoreUrl !== undefined);
  const protocols = new ProtocolLedger(store, clock, (position) => barrier.committed(position));
  const cases = new CaseLedger(store, protocols, clock, (position) => barrier.committed(position));
  const expiry = new ConsentExpiry(cases, models.index, clock, (err) => logger.error({ err }, 'consent expiry failed'));
  // An erasure drops the remembered folds of the person's cases: their next command reads them erased.
  const erasures = new Erasures(
    store,
    keys,
    clock,
    (position) => barrier.committed(position),
    (erased) => cases.forgetCases(erased),
  );
  // An erasure whose keys went but whose event did not (a crash between the two) is recorded now.
  await erasures.reconcile();
  const audit = openAudit(config, store, clock, (err) => logger.error({ err }, 'the audit log follower failed'));
  const retention = new Retention(
    keys,
    models.index,
    protocols,
    erasures,
    clock,
    (err) => logger.error({ err }, 'retention failed'),
    () => barrier.pass(),
  );
  const parts: LedgerParts = {
    store,
    keys,
    erasures,
    retention,
    models,
    projections,
    barrier,
    disclosures: new Disclosures(store, clock),
    expiry,
    clock,
    logger,
    verifyToken: await createTokenVerifier(config, models, logger),
    idempotency: new IdempotencyStore(join(config.dataDir, 'idempotency.db'), (key) => keys.fingerprint(`idempotency-key\u0000${key}`)),
    cases,
    protocols,
    readiness: [
      storeReadiness(store),
      writableReadiness(config.dataDir),
      { name: 'projections', check: async () => projections.isReady(), reason: () => projections.reason?.() },
      { name: 'identity-provider', check: () => parts.verifyToken.ready(), reason: () => parts.verifyToken.trouble() },
    ],
    audit: audit.audit,
  };

  const { limits } = config;
  // Security headers on every answer (helmet's defaults, src/http/security-headers.ts).
  const security = securityHeaders();
  const metrics = new Metrics();
  // What every answer carries (API.md "Conventions"), set by the onSend hook below.
  const conventionalHeaders = (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-request-id', request.id);
    if (request.url.startsWith('/v1')) void reply.header('cache-control', 'no-store');
    reply.removeHeader('x-powered-by');
  };
  // The access log line and the metrics of an answer, from the onResponse hook below.
  const answered = (request: FastifyRequest, statusCode: number, elapsedMs: number) => {
    accessLogLine(logger, request, statusCode, elapsedMs);
    metrics.observe(request.method, request.routeOptions.url, statusCode, elapsedMs / 1000);
  };
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    // A path parameter of any length the HTTP parser lets through reaches its route, and so the
    // route's order of answers (401, 403, then 400 `validation` naming `params.<name>`, API.md
    // "Conventions"), instead of Fastify's 414 (not an API.md code) echoing the path.
    routerOptions: { maxParamLength: maxHeaderSize },
    // The answers the router gives by itself (a malformed percent-encoding) bypass every hook:
    // they get the API.md error body and the headers, log line and metrics of any other answer.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      void reply.headers(security);
      conventionalHeaders(request, reply);
      sendError(reply, frameworkError(error), logger, request.id);
      answered(request, reply.statusCode, performance.now() - started);
    },
    // What Node's HTTP parser refuses before Fastify sees a request (a request line or headers
    // over its limit, a method that does not exist, a control character in a header) gets the
    // API.md error body and the no-store and request id headers too (Fastify's own answer has
    // neither, and a 431 API.md has no code for). A timeout keeps Fastify's 408.
    clientErrorHandler: clientError,
    // Slow clients (OPERATIONS.md "Limits"): headers, then the whole request, must arrive in time;
    // idle sockets and idle keep-alive connections are closed. Node checks the first two every second.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs) },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    // The request id: the caller's X-Request-Id when it is a UUID, else a new one. It is
    // the correlation id of the events a request appends and the `reqId` of its log lines.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      (req as IncomingMessage & { id?: string }).id = id;
      return id;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule.with(parts), adapter, {
    bufferLogs: true,
    abortOnError: false,
    // Fastify's own JSON parser is the only one: Nest's would add form bodies, which API.md refuses with 415.
    bodyParser: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  app.useGlobalFilters(new ErrorFilter(logger));

  const fastify = app.getHttpAdapter().getInstance();
  // Only JSON is accepted: without a text/plain parser any other media type answers 415.
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(security);
    // Bodies come as they are (RFC 9110 Content-Encoding): a compressed one is refused before it
    // is read, with the code API.md has for a body the service does not take (RFC 7694: 415).
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      sendError(reply, new UnsupportedMediaType('send the body uncompressed: no Content-Encoding is accepted'), logger, request.id);
      return;
    }
    done();
  });
  // Browsers on other origins may read answers only from the origins CORS_ORIGINS names (none by default).
  if (limits.corsOrigins.length > 0) {
    await fastify.register(cors, {
      origin: [...limits.corsOrigins],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-purpose', 'x-request-id'],
      exposedHeaders: ['etag', 'location', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id', 'idempotent-replayed'],
      maxAge: 600,
    });
  }
  // Floods: per client address here, per token subject in the guard (API.md "Conventions").
  await RateLimits.register(app, limits);
  if (projections instanceof ProjectionThread) {
    metrics.registry.registerMetric(projections.restarts);
    metrics.registry.registerMetric(projections.subscriptionErrors);
  }
  metrics.registry.registerMetric(storageFaults);
  metrics.serve(app);
  fastify.addHook('onResponse', async (request, reply) => answered(request, reply.statusCode, reply.elapsedTime));
  fastify.addHook('onSend', async (request, reply, payload) => {
    conventionalHeaders(request, reply);
    return payload;
  });
  setUpOpenApi(app);
  await app.init();
  projections.start();
  // EventStoreDB: the follower that keeps the zones' Merkle logs (the embedded store keeps them itself).
  void audit.start().catch((err: unknown) => logger.error({ err }, 'the audit log follower could not start'));
  if (options.consentExpiryIntervalMs !== 0) expiry.start(options.consentExpiryIntervalMs);
  if (options.retentionIntervalMs !== 0) retention.start(options.retentionIntervalMs);
  // Checkpoints are signed on a timer, never on the command path.
  const signGrown = () => audit.audit.checkpointGrown().catch((err: unknown) => logger.error({ err }, 'checkpoint signing failed'));
  const checkpointEvery = options.checkpointIntervalMs ?? config.auditCheckpointIntervalS * 1000;
  const checkpointTimer = checkpointEvery > 0 ? setInterval(() => void signGrown(), checkpointEvery).unref() : undefined;

  return {
    app,
    parts,
    close: async () => {
      await expiry.stop();
      await retention.stop();
      await app.close();
      clearInterval(checkpointTimer);
      // What was appended since the last checkpoint is signed on the way out (with the timer off too).
      await signGrown();
      await audit.close();
      await projections.stop();
      models.close();
      parts.idempotency.close();
      await store.close();
      keys.close();
      logger.flush();
    },
  };
}
