import Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateLocalSigningKey } from '../../src/access/local-signing-key';
import { issueToken } from '../../src/access/tokens';
import { AGENCIES, PROTOCOL_TERMS, ZONE } from '../support/fixtures';

const ROOT = join(__dirname, '../..');
const GRACE_MS = 2_000;

interface Served {
  child: ChildProcess;
  url: string;
  dataDir: string;
  output: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

/** `ledger serve`, compiled (npm test builds first), on a fresh data folder. */
async function serve(env: Record<string, string> = {}): Promise<Served> {
  if (!existsSync(join(ROOT, 'dist/src/cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-shutdown-'));
  const port = 5000 + Math.floor(Math.random() * 800);
  const child = spawn(process.execPath, [join(ROOT, 'bin/ledger.js'), 'serve'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(GRACE_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return { child, url, dataDir, output: () => output, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the service did not become ready:\n${output}`);
}

/** A PUT /v1/protocol whose body is sent in two halves: the test says when the second goes. */
function slowPut(url: string, token: string) {
  const body = Buffer.from(JSON.stringify(PROTOCOL_TERMS));
  const half = Math.floor(body.length / 2);
  const target = new URL('/v1/protocol', url);
  const req = httpRequest({
    host: target.hostname,
    port: target.port,
    path: target.pathname,
    method: 'PUT',
    agent: false,
    // 100-continue: the service says when it has taken the request in (its headers parsed and
    // routed), so the test signals only once the request is truly in flight, however slow the machine.
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' },
  });
  const received = new Promise<void>((resolve) =>
    req.once('continue', () => {
      req.write(body.subarray(0, half));
      resolve();
    }),
  );
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => (text += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
  });
  answered.catch(() => undefined);
  req.flushHeaders();
  return { answered, received, finish: () => req.end(body.subarray(half)), abandon: () => req.destroy() };
}

async function adminToken(dataDir: string): Promise<string> {
  const key = await loadOrCreateLocalSigningKey(dataDir);
  return issueToken(key, { zone: ZONE, agency: AGENCIES.sds, sub: 'admin-1', roles: ['admin'], ttlSeconds: 600 });
}

describe('ledger serve on SIGTERM', () => {
  const started: Served[] = [];
  afterAll(() => {
    for (const s of started) {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  /** A service, a protocol PUT it has taken in but whose body is still coming, then SIGTERM. */
  async function signalledWithPutInFlight() {
    const s = await serve();
    started.push(s);
    const put = slowPut(s.url, await adminToken(s.dataDir));
    await put.received;
    await new Promise((r) => setTimeout(r, 100));
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    return { s, put, signalled };
  }

  it('lets the request in flight finish, then exits 0 with its log line written', async () => {
    const { s, put, signalled } = await signalledWithPutInFlight();
    await new Promise((r) => setTimeout(r, 300));
    // New connections are refused while the one in flight is served.
    await expect(fetch(`${s.url}/health/live`)).rejects.toThrow();
    put.finish();
    const answer = await put.answered;
    expect({ status: answer.status, inForce: JSON.parse(answer.body).inForce }).toEqual({ status: 200, inForce: expect.any(Boolean) });
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(GRACE_MS);
    expect(s.output()).toContain('"msg":"PUT /v1/protocol 200"');
    expect(s.output()).toContain('SIGTERM: closed');
  }, 30_000);

  it('signs what the ledger holds on the way out, with the checkpoint timer off too (AUDIT_CHECKPOINT_INTERVAL_S=0)', async () => {
    const s = await serve({ AUDIT_CHECKPOINT_INTERVAL_S: '0' });
    started.push(s);
    const put = await fetch(`${s.url}/v1/protocol`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${await adminToken(s.dataDir)}`, 'content-type': 'application/json' },
      body: JSON.stringify(PROTOCOL_TERMS),
    });
    expect(put.status).toBe(200);
    s.child.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
    const checkpoints = new Database(join(s.dataDir, 'audit', 'checkpoints.db'), { readonly: true });
    try {
      expect(checkpoints.prepare('SELECT zone, size FROM checkpoints').all()).toEqual([{ zone: ZONE, size: expect.any(Number) }]);
    } finally {
      checkpoints.close();
    }
  }, 30_000);

  it('exits within SHUTDOWN_GRACE_MS when a request in flight never finishes', async () => {
    const { s, put, signalled } = await signalledWithPutInFlight();
    const exit = await Promise.race([s.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), GRACE_MS + 3_000).unref())]);
    put.abandon();
    expect(exit).not.toBe('still running');
    const { code, at } = exit as { code: number; at: number };
    expect(code).toBe(1);
    expect(at - signalled).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(s.output()).toContain(`still closing after ${GRACE_MS} ms`);
  }, 30_000);
});
