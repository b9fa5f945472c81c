/**
 * npm run bench: durable write throughput and latency, each against a baseline measured in the
 * same run on the same disk (issue "first benchmark"; docs/BENCHMARKS.md records the figures).
 *
 *   raw      better-sqlite3, one-row INSERT transactions, WAL + synchronous=FULL: the ceiling
 *            of one durable commit at a time on this disk
 *   port     SqliteEventStore.append of single-event commits, one at a time and 64 in flight
 *            (group commit shares one fsync among concurrent appends)
 *   http     POST /v1/cases/{id}/notes through the real service (child process, real HTTP,
 *            token checks, validation, fold, decide, append), N concurrent clients
 *   latency  the same command at a fixed 200 commands/s: p50, p99
 */
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadOrCreateLocalSigningKey } from '../../src/auth/local-signing-key';
import { issueToken } from '../../src/auth/tokens';
import { runCli } from '../../src/cli';
import type { EventToAppend } from '../../src/store/event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';

const ROOT = resolve(__dirname, '../../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const quiet = { out: () => undefined, err: (l: string) => console.error(l) };

function payload(i: number): string {
  return JSON.stringify({ notes: [{ category: 'common', text: `verification meeting ${i}: the person attended and the internship goes on as planned.` }] });
}

function noteEvent(i: number): EventToAppend {
  return {
    id: randomUUID(),
    type: 'NoteRecorded',
    data: JSON.parse(payload(i)),
    metadata: { zone: 'bench', agency: 'sds-bench', operator: 'op-1', occurredAt: new Date().toISOString(), commandId: randomUUID(), correlationId: 'bench' },
  };
}

function rate(count: number, ms: number): number {
  return (count * 1000) / ms;
}

/** One-row INSERT transactions, each committed (and fsynced) alone. */
function rawCeiling(dir: string): number {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, revision INTEGER, id TEXT UNIQUE, type TEXT, data BLOB, metadata BLOB)');
  const insert = db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, 0, ?, ?, ?, ?)');
  const meta = Buffer.from(JSON.stringify(noteEvent(0).metadata));
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    insert.run(`s-${n}`, randomUUID(), 'NoteRecorded', Buffer.from(payload(n)), meta);
    n++;
  }
  const result = rate(n, performance.now() - start);
  db.close();
  return result;
}

async function portThroughput(dir: string, inFlight: number): Promise<number> {
  const store = new SqliteEventStore(join(dir, `port-${inFlight}.db`));
  let n = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() - start < SECONDS * 1000) {
      const i = n++;
      await store.append(`case-bench.${i}`, [noteEvent(i)], 'no-stream');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const result = rate(n, performance.now() - start);
  await store.close();
  return result;
}

async function startService(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/ledger.js'), 'serve'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the service did not start');
}

async function http(url: string, token: string, cases: string[], options: { connections: number; overallRate?: number }) {
  let next = 0;
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: SECONDS * 2,
    overallRate: options.overallRate,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: payload(1),
        setupRequest: (request) => ({ ...request, path: `/v1/cases/${cases[next++ % cases.length]}/notes` }),
      },
    ],
  });
  const ok = result.requests.total - result.non2xx;
  return {
    perSecond: ok / (result.duration || SECONDS * 2),
    non2xx: result.non2xx,
    errors: result.errors,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  const port = 3900 + Math.floor(Math.random() * 90);
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  let child: ChildProcess | undefined;
  try {
    say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${SECONDS}s per store run, ${SECONDS * 2}s per HTTP run`);
    const raw = rawCeiling(dir);
    say(`raw better-sqlite3, one-row INSERT transactions (WAL, FULL):  ${raw.toFixed(0)} commits/s  (baseline)`);
    const port1 = await portThroughput(dir, 1);
    say(`store port append, single-event commits, 1 in flight:        ${port1.toFixed(0)} appends/s  (${(port1 / raw).toFixed(2)}× raw)`);
    const port64 = await portThroughput(dir, 64);
    say(`store port append, single-event commits, 64 in flight:       ${port64.toFixed(0)} appends/s  (${(port64 / raw).toFixed(2)}× raw, group commit)`);

    const dataDir = join(dir, 'service');
    await runCli(['protocol', 'apply', '--zone', 'bench', join(ROOT, 'examples/valdinievole-protocol.json')], quiet, { DATA_DIR: dataDir });
    child = await startService(dataDir, port);
    const url = `http://127.0.0.1:${port}`;
    const key = await loadOrCreateLocalSigningKey(dataDir);
    const token = await issueToken(key, { zone: 'bench', agency: 'sds-valdinievole', sub: 'bench', roles: ['operator'], ttlSeconds: 3600 });
    const referral = JSON.stringify({ person: { fiscalCode: 'RSSMRA85T10A562S', givenName: 'Mario', familyName: 'Rossi', birthDate: '1985-12-10' }, needs: ['employment'] });
    const cases: string[] = [];
    for (let i = 0; i < 500; i++) {
      const response = await fetch(`${url}/v1/referrals`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: referral });
      cases.push(((await response.json()) as { caseId: string }).caseId);
    }
    for (const connections of [1, 16, 64]) {
      const r = await http(url, token, cases, { connections });
      say(
        `HTTP POST /v1/cases/{id}/notes, ${String(connections).padStart(2)} clients:   ${r.perSecond.toFixed(0)} commands/s  (${(r.perSecond / raw).toFixed(2)}× raw)  p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
      );
    }
    const fixed = await http(url, token, cases, { connections: 16, overallRate: 200 });
    say(`HTTP at a fixed 200 commands/s, 16 clients:  ${fixed.perSecond.toFixed(0)} commands/s  p50 ${fixed.p50} ms, p99 ${fixed.p99} ms (target p99 < 25 ms), non-2xx ${fixed.non2xx}`);
  } finally {
    child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
