import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ProjectionRunner } from '../projections/projection-runner';
import { ReadModels } from '../projections/read-models';
import { buildMarkerOf, removeViewsDb } from '../projections/views-db';
import { AgencyId, dateInItaly, inForce, OperatorId, type Position, SYSTEM_AGENCY, ZoneId } from '../events';
import { ROLES, type Role } from './access/actor';
import { createApp } from './app';
import { loadOrCreateLocalSigningKey } from './access/local-signing-key';
import { isReserved, issueToken, parseTtl } from './access/tokens';
import { systemClock } from './ledger/clock';
import { ConfigError, loadConfig } from './config';
import { RuleViolation, ValidationFailed } from './errors';
import { zodIssues } from './http/error-response';
import { CommandIds, newCommandId } from './ledger/command-ids';
import { ProtocolLedger } from './protocol/protocol-ledger';
import { decideSigning, SignProtocolBody } from './protocol/sign-protocol';
import { KeyStore } from './keys/key-store';
import { FileMasterKeyring } from './keys/master-keys';
import { assertDataFolder, keysDirOf, openKeyStore, readModelCrypto } from './keys/open-keys';
import { holdDataFolder, secureDataFolder } from './data-folder';
import { Erasures } from './subjects/erasures';
import { Retention } from './subjects/retention';
import { ledgerReaderOf, openEventStore } from './store/open-event-store';
import { cliOperator, type Io, noArguments, readJsonFile, UsageError } from './cli-io';
import { backupDataFolder } from './backup';
import { auditCommand, exportCommand, replayCommand, verifyCommand } from './audit/audit-cli';

export type { Io };

const USAGE = `usage: ledger <command>

  serve                                   run the service (PORT, DATA_DIR, EVENTSTORE_URL, LOG_LEVEL, AUTH_*)
  token --zone Z --agency A --sub S --roles r1,r2 [--ttl 8h]
                                          print a token signed with the data folder's key (embedded mode),
                                          valid for --ttl: 1m to 30d
  protocol apply FILE [--zone Z]          sign or renew a zone's protocol from a JSON file
  rebuild                                 rebuild every per-agency view from position 0 (service stopped)
  retention [--dry-run]                   erase the persons whose every case is closed beyond its zone's
                                          retention period (--dry-run: list them, by pseudonym; else service stopped)
  keys rotate                             make a new master key and re-wrap every data key with it (service stopped)
  keys backup FILE                        copy the key store to FILE while in use (the master keys are not in it)
  backup DIR                              an online backup of the ledger, the key store, the checkpoints (and
                                          their keys when in DATA_DIR) into a new folder; not the master keys
  verify [--zone Z]                       recompute every leaf, tree and checkpoint; exit 1 and the first invalid
                                          position if anything was altered
  audit checkpoint [--zone Z]             sign a checkpoint of each zone (or one) as it is now
  audit keys                              list the checkpoint-signing keys (raw Ed25519, base64)
  audit rotate-key                        add a new checkpoint-signing key (service stopped); the old ones stay
  audit verify-proof --keys F --checkpoint F --proof F --leaf-hash H
  audit verify-proof --keys F --older F --newer F --consistency F
                                          check a proof outside the service, with the public keys alone
  replay --agency A [--case C] [--as-of T] [--zone Z]
                                          the view agency A had of case C at instant T (default: now); without
                                          --case, of every case of the zone that existed for A then, one JSON
                                          line each in the order they were opened (on the access trail)
  export [--zone Z]                       the zone's ledger without personal data, as NDJSON (on the access trail)
  help                                    this text

roles: ${ROLES.join(', ')}`;

export async function runCli(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        noArguments(command, rest);
        return await serve(env, io);
      case 'token':
        return await token(rest, env, io);
      case 'rebuild':
        noArguments(command, rest);
        return await rebuild(env, io);
      case 'retention':
        return await retention(rest, env, io);
      case 'keys':
        return await keys(rest, env, io);
      case 'backup':
        return await backup(rest, env, io);
      case 'verify':
        return await verifyCommand(rest, env, io);
      case 'audit':
        return await auditCommand(rest, env, io);
      case 'replay':
        return await replayCommand(rest, env, io);
      case 'export':
        return await exportCommand(rest, env, io);
      case 'protocol':
        if (rest[0] !== 'apply') throw new UsageError('protocol: only "protocol apply FILE" exists');
        return await applyProtocol(rest.slice(1), env, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (thrown) {
    // node:util's parseArgs refuses an option it does not know, a value missing, a word too many: the command line's fault.
    const error = isParseArgsError(thrown) ? new UsageError(`${command}: ${(thrown as Error).message}`) : thrown;
    if (error instanceof ConfigError) io.err(error.message);
    else if (error instanceof UsageError) io.err(`${error.message}\n\n${USAGE}`);
    else if (error instanceof ValidationFailed) io.err(`${error.message}:\n${error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    else if (error instanceof RuleViolation) io.err(`refused (${error.rule}): ${error.message}`);
    else io.err(`error: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

const isParseArgsError = (error: unknown) => typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS_');

async function serve(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const config = loadConfig(env);
  const ledger = await createApp({ config, projections: 'worker' });
  try {
    await ledger.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A port taken or not ours to bind: the stores, the worker threads and the data folder's
    // lock are let go, so that the process ends (exit 1) and a supervisor can start it again.
    await ledger.close().catch(() => undefined);
    throw error;
  }
  const address = ledger.app.getHttpServer().address() as { port: number };
  const store = config.eventStoreUrl ? 'EventStoreDB' : `embedded SQLite in ${config.dataDir}`;
  io.out(`Equipe Ledger listening on http://${config.host}:${address.port} (store: ${store}; API docs at /docs)`);
  if (config.auth.mode === 'local') io.out('tokens: node bin/ledger.js token --zone ZONE --agency AGENCY --sub OPERATOR --roles operator');
  let stopping = false;
  // SIGTERM, SIGINT: stop taking connections, let the requests in flight finish (new requests on
  // open connections get 503), close the stores, flush the logs, exit 0. Past SHUTDOWN_GRACE_MS,
  // exit 1 with what is still running cut off.
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const grace = config.limits.shutdownGraceMs;
    io.out(`${signal}: draining the requests in flight (at most ${grace} ms), then closing`);
    const deadline = setTimeout(() => {
      io.err(`${signal}: still closing after ${grace} ms: exiting`);
      ledger.parts.logger.flush();
      process.exit(1);
    }, grace);
    let code = 0;
    try {
      await ledger.close();
    } catch (error) {
      io.err(`${signal}: closing failed: ${(error as Error).message}`);
      code = 1;
    }
    clearTimeout(deadline);
    await new Promise<void>((resolve) => ledger.parts.logger.flush(() => resolve()));
    io.out(`${signal}: closed`);
    process.exit(code);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return new Promise<number>(() => undefined);
}

const TokenArgs = z.strictObject({
  zone: ZoneId,
  // Refused before anything is read or made: the service's own author id is no one's to borrow.
  agency: AgencyId.refine((agency) => !isReserved(agency, ''), `"${SYSTEM_AGENCY}" is reserved for the service itself`),
  sub: OperatorId.refine((sub) => !isReserved('', sub), `"${SYSTEM_AGENCY}:…" is reserved for the service itself`),
  roles: z.string().transform((s, ctx) => {
    const roles = s
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
    if (bad || roles.length === 0) ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${ROLES.join(', ')}` });
    return roles as Role[];
  }),
  ttl: z
    .string()
    .default('8h')
    .transform((text, ctx) => {
      try {
        return parseTtl(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
});

async function token(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { zone: { type: 'string' }, agency: { type: 'string' }, sub: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' } },
  });
  const parsed = TokenArgs.safeParse(values);
  if (!parsed.success)
    throw new ValidationFailed(
      zodIssues(parsed.error).map((i) => ({ ...i, path: `--${i.path}` })),
      'token: bad arguments',
    );
  const config = loadConfig(env);
  if (config.auth.mode !== 'local') throw new UsageError('token: the service trusts an identity provider (AUTH_JWKS_URL / AUTH_PUBLIC_KEY_FILE); get tokens there');
  const key = await loadOrCreateLocalSigningKey(config.dataDir);
  io.out(await issueToken(key, { zone: parsed.data.zone, agency: parsed.data.agency, sub: parsed.data.sub, roles: parsed.data.roles, ttlSeconds: parsed.data.ttl }));
  return 0;
}

/**
 * Signs the protocol straight into the store, as the system itself: the way a zone's first
 * protocol gets in before any agency has a party to sign as. Renewals may use PUT /v1/protocol.
 */
async function applyProtocol(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { zone: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('protocol apply: give one FILE');
  const file = positionals[0]!;
  const json = readJsonFile(file, 'protocol apply:');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`protocol apply: ${file} holds no JSON object (a protocol's terms)`);
  const { zone: fileZone, ...terms } = json as Record<string, unknown>;
  const zone = ZoneId.safeParse(values.zone ?? fileZone);
  if (!zone.success) throw new UsageError('protocol apply: name the zone with --zone or a "zone" field in the file');
  const parsed = SignProtocolBody.safeParse(terms);
  if (!parsed.success) throw new ValidationFailed(zodIssues(parsed.error), `protocol apply: ${file} is not a valid protocol`);
  const config = loadConfig(env);
  const keys = openKeyStore(config);
  const store = await openEventStore(config, keys);
  try {
    const protocols = new ProtocolLedger(store, systemClock);
    const signer = { zone: zone.data, agency: SYSTEM_AGENCY, operator: cliOperator() };
    const commandId = newCommandId();
    const proposalId = new CommandIds(commandId).entity('proposal');
    // The same rule as PUT /v1/protocol: a renewal that widens what a party receives waits for the parties' admins.
    const { protocol } = await protocols.execute({
      signer,
      decide: (current) => decideSigning(current, parsed.data, signer, proposalId, dateInItaly(new Date())),
      commandId,
      correlationId: 'cli',
    });
    if (protocol.pending?.proposalId === proposalId) {
      io.out(
        `zone ${zone.data}: the renewal widens what some party receives: proposal ${proposalId} awaits the approval of ${[...protocol.pending.awaiting].join(', ')} (POST /v1/protocol/proposals/${proposalId}/approval)`,
      );
      return 0;
    }
    const p = protocol.current;
    io.out(
      `zone ${zone.data}: protocol version ${p.version} signed (${p.parties.length} parties, valid ${p.validFrom} to ${p.validUntil}${inForce(protocol, systemClock.now()) ? ', in force' : ', NOT in force today'})`,
    );
    return 0;
  } finally {
    await store.close();
    keys.close();
  }
}

/**
 * Throws the read models away and projects the whole ledger again (ARCHITECTURE.md property 4).
 * Run it with the service stopped: it takes the data folder (DataFolderInUse while a service holds it).
 */
async function rebuild(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const config = loadConfig(env);
  const file = join(config.dataDir, 'views.db');
  const keys = openKeyStore(config, { holdFolder: true, existing: true });
  let store: Awaited<ReturnType<typeof openEventStore>> | undefined;
  let models: ReadModels | undefined;
  try {
    // A rebuild stopped halfway left its marker: this one starts over in the same way.
    removeViewsDb(file);
    rmSync(buildMarkerOf(file), { force: true });
    secureDataFolder(config); // views.db again, empty and owner-only
    store = await openEventStore(config, keys);
    models = ReadModels.build(file, readModelCrypto(keys), await store.identity(), ledgerReaderOf(store));
    const started = performance.now();
    const head = await store.headPosition();
    let done = 0;
    let shown = started;
    // A line every 2 s: events done, the rate, and the time left by the share of the log behind.
    const onBatch = (events: number, position: Position | undefined) => {
      done += events;
      const now = performance.now();
      if (now - shown < 2_000 || !head || !position || head.commit === 0n) return;
      shown = now;
      io.out(progressLine(done, Math.min(1, Number(position.commit) / Number(head.commit)), (now - started) / 1000));
    };
    await new ProjectionRunner(store, models, { onBatch }).runUntilCaughtUp();
    models.finishBuild();
    models = undefined;
    const seconds = (performance.now() - started) / 1000;
    io.out(`rebuilt the views from position 0: ${done} events in ${seconds.toFixed(2)} s (${Math.round(done / seconds)} events/s)`);
    return 0;
  } finally {
    models?.close();
    await store?.close();
    keys.close();
  }
}

/**
 * Retention from the command line. `--dry-run` lists who is due, by pseudonym, without a name;
 * without it, erases them (with the service stopped: a running service erases them itself, daily).
 */
async function retention(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' } } });
  const config = loadConfig(env);
  // Erasing takes the data folder (the service stopped); a dry run only reads, beside a running service.
  const keys = openKeyStore(config, { holdFolder: !values['dry-run'], existing: true });
  const store = await openEventStore(config, keys);
  const models = ReadModels.open(join(config.dataDir, 'views.db'), readModelCrypto(keys), await store.identity(), ledgerReaderOf(store));
  try {
    const protocols = new ProtocolLedger(store, systemClock);
    // Erasing (the service stopped, the folder held): the views are brought up to the ledger
    // first, so that no case closed, reopened or referred since the service last projected is
    // judged on what it was. A dry run beside a running service leaves the views to it.
    const runner = values['dry-run'] ? undefined : new ProjectionRunner(store, models);
    const caughtUp = runner && (() => runner.runUntilCaughtUp());
    const job = new Retention(keys, models.index, protocols, new Erasures(store, keys, systemClock), systemClock, undefined, caughtUp);
    const due = await job.due();
    for (const person of due) {
      const cases = person.cases.map((c) => `${c.zone}/${c.caseId} closed ${c.closedAt.slice(0, 10)}`).join(', ');
      io.out(`person ${person.subject.slice(0, 16)}…: due since ${person.dueSince.slice(0, 10)}; ${person.cases.length} case(s): ${cases}`);
    }
    if (values['dry-run']) {
      io.out(`${due.length} person(s) would be erased (dry run: nothing was changed)`);
      return 0;
    }
    io.out(`${await job.run()} person(s) erased`);
    return 0;
  } finally {
    models.close();
    await store.close();
    keys.close();
  }
}

/** The master keys: rotation (a new master, every data key re-wrapped) and an online backup of the key store. */
async function keys(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const [action, file, ...more] = args;
  // `keys rotate` takes nothing, `keys backup` one FILE: anything more is a mistake, not to be ignored.
  if ((action === 'rotate' && file !== undefined) || more.length > 0) throw new UsageError('keys: "keys rotate" or "keys backup FILE", nothing more');
  const config = loadConfig(env);
  const dir = config.masterKeyDir ?? join(keysDirOf(config.dataDir), 'master');
  if (action === 'rotate') {
    assertDataFolder(config.dataDir);
    // The service stopped: it takes the data folder (DataFolderInUse while a service holds it).
    const folder = holdDataFolder(config);
    try {
      const ring = FileMasterKeyring.open(dir);
      const previous = ring.current.id;
      const store = new KeyStore(join(keysDirOf(config.dataDir), 'keys.db'), ring);
      try {
        const next = ring.rotate();
        const n = store.rewrapAll();
        io.out(`master key ${next.id} is current (was ${previous}); ${n} data key(s) re-wrapped. Keep ${previous} while backups wrapped with it are kept.`);
        return 0;
      } finally {
        store.close();
      }
    } finally {
      folder.release();
    }
  }
  if (action === 'backup' && file) {
    const store = openKeyStore(config, { existing: true });
    try {
      await store.backup(file);
      io.out(`key store copied to ${file} (owner-only); back up the master keys (${dir}) separately, and keep them apart`);
      return 0;
    } finally {
      store.close();
    }
  }
  throw new UsageError('keys: "keys rotate" or "keys backup FILE"');
}

/** An online backup of the data folder (src/backup.ts); the service may be running. */
async function backup(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const [to] = args;
  if (!to || args.length !== 1) throw new UsageError('backup: give one DIR, a new folder');
  const config = loadConfig(env);
  assertDataFolder(config.dataDir);
  const copied = await backupDataFolder(config, to);
  io.out(
    `backed up ${copied.join(', ')} to ${to} (owner-only). Back up the master keys (${config.masterKeyDir ?? join(keysDirOf(config.dataDir), 'master')}) separately, and keep them apart.`,
  );
  return 0;
}

/** One progress line of `ledger rebuild`: events done, the share of the ledger behind, the rate and the time left. */
export function progressLine(done: number, share: number, seconds: number): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const left = share > 0 ? seconds * (1 / share - 1) : 0;
  return `rebuilding: ${done} events (${Math.floor(share * 100)}% of the ledger), ${Math.round(rate)} events/s, about ${Math.ceil(left)} s left`;
}
