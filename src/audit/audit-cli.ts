import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AgencyId, caseStream, type EventStore, IsoInstant, parseStream, type Position, SYSTEM_AGENCY, ZoneId } from '../../events';
import type { CaseView } from '../../projections/policy';
import type { Actor } from '../access/actor';
import { cliOperator, type Io, noArguments, readJsonFile, UsageError } from '../cli-io';
import { loadConfig } from '../config';
import { openKeyStore } from '../keys/open-keys';
import { systemClock } from '../ledger/clock';
import { type DisclosedCase, Disclosures, type TrailAction } from '../reads/disclosures';
import { openEventStore } from '../store/open-event-store';
import type { Audit } from './audit';
import { type AuditorKey, type ConsistencyProof, type InclusionProof, type SignedCheckpoint, verifyCheckpointConsistency, verifyEventInclusion } from './auditor';
import { openAudit } from './open-audit';

/*
 * The auditors' commands (README "Auditors"). Each opens the data folder as the service does;
 * reads that disclose (replay, export) are recorded on the access trail as the system agency
 * "ledger" with the operating-system user as operator, like every other read.
 */

/**
 * With `holdFolder` the command takes the data folder first (src/data-folder.ts: DataFolderInUse
 * while the service runs) and keeps it until it is done.
 */
async function withAudit<T>(env: NodeJS.ProcessEnv, work: (audit: Audit, store: EventStore) => Promise<T>, options: { holdFolder?: boolean } = {}): Promise<T> {
  const config = loadConfig(env);
  const keys = openKeyStore(config, { ...options, existing: true });
  const store = await openEventStore(config, keys);
  const opened = openAudit(config, store, systemClock);
  try {
    return await work(opened.audit, store);
  } finally {
    await opened.close();
    await store.close();
    keys.close();
  }
}

/**
 * The zone named, which must be one of the ledger's (a typo would verify nothing and pass, or
 * sign an empty log, or put a trail record in a zone that never was: the ledger keeps it), or
 * the only zone of the ledger.
 */
async function zoneOf(audit: Audit, given: string | undefined): Promise<string> {
  const zones = await audit.zones();
  if (given !== undefined) {
    const parsed = ZoneId.safeParse(given);
    if (!parsed.success) throw new UsageError(`--zone: "${given}" is not a zone id`);
    if (!zones.includes(parsed.data)) {
      throw new UsageError(`--zone: the ledger has no zone "${parsed.data}" (${zones.length === 0 ? 'it has no zone yet' : `its zones: ${zones.join(', ')}`})`);
    }
    return parsed.data;
  }
  if (zones.length !== 1) throw new UsageError(zones.length === 0 ? 'the ledger has no zone yet' : `name the zone with --zone (one of ${zones.join(', ')})`);
  return zones[0]!;
}

function trail(store: EventStore, zone: string, action: TrailAction, cases: readonly DisclosedCase[]): Promise<void> {
  const actor: Actor = { zone, agency: SYSTEM_AGENCY, operator: cliOperator(), roles: ['auditor'] };
  return new Disclosures(store, systemClock).record(actor, action, cases, { requestId: 'cli', purpose: 'audit' });
}

async function record(store: EventStore, zone: string, action: TrailAction, caseId: string, disclosure?: DisclosedCase['disclosure']) {
  await trail(store, zone, action, [{ caseId, outcome: disclosure || caseId === '*' ? 'disclosed' : 'not-found', ...(disclosure ? { disclosure } : {}) }]);
}

/** `ledger verify`: exit 0 when every zone verifies, 1 with the first invalid position otherwise. */
export async function verifyCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { zone: { type: 'string' } } });
  return withAudit(env, async (audit) => {
    const zone = values.zone === undefined ? undefined : await zoneOf(audit, values.zone);
    const started = performance.now();
    const report = await audit.verify(zone);
    const seconds = (performance.now() - started) / 1000;
    io.out(JSON.stringify(report));
    if (report.ok) io.out(`ok: ${report.eventsChecked} events and ${report.checkpointsChecked} checkpoints verified in ${seconds.toFixed(2)} s`);
    else io.err(`NOT VERIFIED: ${report.detail}${report.firstInvalidPosition === undefined ? '' : ` (first invalid position ${report.firstInvalidPosition})`}`);
    return report.ok ? 0 : 1;
  });
}

/*
 * The shapes of the files `audit verify-proof` reads (what GET /v1/audit/keys, /checkpoints and
 * /proofs answer): a file of another shape is a usage error naming it (exit 2), so that exit 1
 * always means a proof or a signature that does not verify. The values themselves (hashes,
 * signatures, sizes) are the verifier's to judge.
 */
const text = z.string();
const count = z.number().int().min(0);
const CheckpointFile = z.object({ zone: text, size: count, root: text, at: text, keyId: text, signature: text });
const KeysFile = z.union([z.array(z.object({ keyId: text, publicKey: text })), z.object({ keys: z.array(z.object({ keyId: text, publicKey: text })) })]);
const InclusionFile = z.object({ leafIdx: count, treeSize: count, leafHash: text, proof: z.array(text), root: text });
const ConsistencyFile = z.object({ size1: count, size2: count, root1: text, root2: text, proof: z.array(text) });

function readJson<T>(file: string | undefined, option: string, shape: z.ZodType<T>): T {
  if (!file) throw new UsageError(`audit verify-proof: ${option} FILE is required`);
  const parsed = shape.safeParse(readJsonFile(file, `audit verify-proof: ${option}`));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`audit verify-proof: ${option} ${file} is not what it should hold (${issue.path.join('.') || 'the whole'}: ${issue.message})`);
  }
  return parsed.data;
}

/** `ledger audit ...`: checkpoints, keys, and the offline proof check. */
export async function auditCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'verify-proof') return verifyProof(rest, io);
  if (action === 'checkpoint') {
    const { values } = parseArgs({ args: rest, options: { zone: { type: 'string' } } });
    return withAudit(env, async (audit) => {
      const zones = values.zone === undefined ? await audit.zones() : [await zoneOf(audit, values.zone)];
      for (const zone of zones) io.out(JSON.stringify(await audit.checkpoint(zone)));
      return 0;
    });
  }
  if (action === 'keys' || action === 'rotate-key') {
    noArguments(`audit ${action}`, rest);
    // A rotation needs the service stopped: the service loads its checkpoint keys once, at its
    // start, and would go on signing with the old key, and neither list nor know the new one,
    // which the commands beside it (`audit checkpoint`) would sign with. Listing is a read.
    return withAudit(
      env,
      async (audit) => {
        if (action === 'rotate-key') {
          const key = audit.rotateKey();
          io.out(`checkpoint key ${key.keyId} signs from now on; the older keys stay to verify what they signed`);
        }
        io.out(JSON.stringify({ keys: audit.keys() }, null, 2));
        return 0;
      },
      { holdFolder: action === 'rotate-key' },
    );
  }
  throw new UsageError('audit: "audit checkpoint", "audit keys", "audit rotate-key" or "audit verify-proof"');
}

/**
 * Checks a proof with nothing but files an auditor holds: the keys (GET /v1/audit/keys), the
 * signed checkpoints and the proof. Opens no data folder and no store.
 */
function verifyProof(args: string[], io: Io): number {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: 'string' },
      checkpoint: { type: 'string' },
      proof: { type: 'string' },
      'leaf-hash': { type: 'string' },
      older: { type: 'string' },
      newer: { type: 'string' },
      consistency: { type: 'string' },
    },
  });
  const given: { keys: AuditorKey[] } | AuditorKey[] = readJson(values.keys, '--keys', KeysFile);
  const keys = Array.isArray(given) ? given : given.keys;
  if (values.consistency !== undefined) {
    const older: SignedCheckpoint = readJson(values.older, '--older', CheckpointFile);
    const newer: SignedCheckpoint = readJson(values.newer, '--newer', CheckpointFile);
    const proof: ConsistencyProof = readJson(values.consistency, '--consistency', ConsistencyFile);
    const verdict = verifyCheckpointConsistency({ older, newer, keys, proof });
    if (!verdict.ok) return rejected(io, verdict.reason);
    io.out(`ok: the ledger of ${newer.size} events signed at ${newer.at} extends the one of ${older.size} signed at ${older.at}, event for event`);
    return 0;
  }
  const checkpoint: SignedCheckpoint = readJson(values.checkpoint, '--checkpoint', CheckpointFile);
  const proof: InclusionProof = readJson(values.proof, '--proof', InclusionFile);
  // Without the event's own hash, "ok" would only say that some leaf is at the proof's index.
  const leafHash = values['leaf-hash'];
  if (!leafHash) throw new UsageError('audit verify-proof: --leaf-hash HASH is required: the `hash` of the event, from GET /v1/audit/events or `ledger export`');
  const verdict = verifyEventInclusion({ checkpoint, keys, proof, leafHash });
  if (!verdict.ok) return rejected(io, verdict.reason);
  io.out(
    `ok: leaf ${proof.leafIdx} (${proof.leafHash}) is in the ledger of zone ${checkpoint.zone} as signed at ${checkpoint.at} (${checkpoint.size} events, key ${checkpoint.keyId})`,
  );
  return 0;
}

function rejected(io: Io, reason: string): number {
  io.err(`REJECTED: ${reason}`);
  return 1;
}

/** The instant given, in the one form the ledger stores (milliseconds, Z), so that it compares with event times as text. */
function instantOf(given: string): string | undefined {
  if (!IsoInstant.safeParse(given).success) return undefined;
  const ms = Date.parse(given);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

interface ReplayArgs {
  readonly zone: string | undefined;
  readonly agency: string;
  readonly caseId: string | undefined;
  readonly asOf: string;
}

/** API.md "Command line": `ledger replay --agency A [--case C] [--as-of T]`; anything else is a usage error. */
function replayArgs(args: string[]): ReplayArgs {
  // An option parseArgs refuses is a usage error too (runCli turns it into one).
  const { values } = parseArgs({ args, options: { zone: { type: 'string' }, agency: { type: 'string' }, case: { type: 'string' }, 'as-of': { type: 'string' } } });
  const agency = AgencyId.safeParse(values.agency);
  if (!agency.success) throw new UsageError(values.agency === undefined ? 'replay: --agency A is required' : 'replay: --agency must be an agency id');
  if (values.case !== undefined && !z.uuid().safeParse(values.case).success) throw new UsageError('replay: --case must be a case id (a UUID)');
  const asOf = values['as-of'] === undefined ? systemClock.now().toISOString() : instantOf(values['as-of']);
  if (asOf === undefined) throw new UsageError('replay: --as-of must be an ISO-8601 UTC instant, such as 2025-06-02T09:00:00Z');
  return { zone: values.zone, agency: agency.data, caseId: values.case, asOf };
}

/** The zone's case ids, in the order the cases were opened (their first event in the ledger). */
async function caseIdsOf(store: EventStore, zone: string): Promise<string[]> {
  const ids = new Set<string>();
  let after: Position | undefined;
  for (;;) {
    // Raw: listing the streams needs no data opened. The prefix selects a superset; keep the zone's own.
    const page = await store.readRaw({ ...(after ? { after } : {}), maxCount: 1000, streamPrefixes: [caseStream(zone, '')] });
    for (const event of page) {
      const stream = parseStream(event.stream);
      if (stream.kind === 'case' && stream.zone === zone) ids.add(stream.caseId);
    }
    if (page.length < 1000) return [...ids];
    after = page[page.length - 1]!.position;
  }
}

/** Cases per append to the trail (one AccessRecorded each): an append stays far below a store's size limit (EventStoreDB's 1 MiB). */
const REPLAY_BATCH = 100;

/**
 * `ledger replay`: the view an agency had of a case at an instant (now by default), as JSON; or,
 * without --case, of every case of the zone that existed for it then, one JSON line each in the
 * order the cases were opened. Views come from Audit.caseAsOf alone, as GET
 * /v1/audit/cases/{id}/view; each is on the access trail before it is printed.
 */
export async function replayCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { zone: givenZone, agency, caseId, asOf } = replayArgs(args);
  return withAudit(env, async (audit, store) => {
    const zone = await zoneOf(audit, givenZone);
    if (caseId !== undefined) {
      const shown = await audit.caseAsOf(zone, caseId, agency, asOf);
      await record(store, zone, 'case.read-as-of', caseId, shown?.disclosure);
      if (!shown) {
        io.err(`case ${caseId} did not exist for ${agency} at ${asOf}`);
        return 1;
      }
      io.out(JSON.stringify(shown.view, null, 2));
      return 0;
    }
    const ids = await caseIdsOf(store, zone);
    let shownCount = 0;
    for (let from = 0; from < ids.length; from += REPLAY_BATCH) {
      const views: CaseView[] = [];
      const disclosed: DisclosedCase[] = [];
      for (const id of ids.slice(from, from + REPLAY_BATCH)) {
        const shown = await audit.caseAsOf(zone, id, agency, asOf);
        if (!shown) continue;
        views.push(shown.view);
        disclosed.push({ caseId: id, outcome: 'disclosed', disclosure: shown.disclosure });
      }
      await trail(store, zone, 'case.read-as-of', disclosed);
      for (const view of views) io.out(JSON.stringify(view));
      shownCount += views.length;
    }
    if (shownCount === 0) {
      // A read that disclosed nothing is on the trail too, as the zone's ("*").
      await trail(store, zone, 'case.read-as-of', [{ caseId: '*', outcome: 'not-found' }]);
      io.err(`no case of zone ${zone} existed for ${agency} at ${asOf}`);
    }
    return 0;
  });
}

/** `ledger export`: the zone's ledger without personal data, one JSON object per line. */
export async function exportCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { zone: { type: 'string' } } });
  return withAudit(env, async (audit, store) => {
    const zone = await zoneOf(audit, values.zone);
    await record(store, zone, 'audit.export', '*');
    let after = 0;
    for (;;) {
      const page = await audit.events(zone, after, 1000);
      // Who wrote on each case, and what categories, is that case's data: on the trail before it is written out.
      const cases = await audit.eventDisclosures(zone, page.items);
      await trail(
        store,
        zone,
        'audit.export',
        cases.map((c) => ({ caseId: c.caseId, outcome: 'disclosed', disclosure: c.disclosure })),
      );
      for (const item of page.items) io.out(JSON.stringify(item));
      if (page.next === undefined) return 0;
      after = page.next;
    }
  });
}
