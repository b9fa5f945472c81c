import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadOrCreateLocalSigningKey } from '../../src/access/local-signing-key';
import { issueToken } from '../../src/access/tokens';
import { AGENCIES, PERSON, PROTOCOL_TERMS } from '../support/fixtures';

const ROOT = join(__dirname, '../..');

/**
 * `ledger serve` as `npm start` runs it: the compiled service in a process of its own, with the
 * projections in their worker thread. (`npm test` builds first, see package.json "pretest".)
 */
describe('ledger serve (the compiled service, projections in a worker thread)', () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let url: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/src/cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-serve-'));
    const port = 4100 + Math.floor(Math.random() * 800);
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(ROOT, 'bin/ledger.js'), 'serve'], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${url}/health/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the service did not become ready:\n${output}`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function as(agency: string, roles: string[]) {
    const key = await loadOrCreateLocalSigningKey(dataDir);
    return `Bearer ${await issueToken(key, { zone: 'valdinievole', agency, sub: `op-${agency}`, roles: roles as never, ttlSeconds: 600 })}`;
  }

  it('takes commands and serves every agency its view, read-your-writes across threads', async () => {
    const json = { 'content-type': 'application/json' };
    expect(
      (await fetch(`${url}/v1/protocol`, { method: 'PUT', headers: { authorization: await as(AGENCIES.sds, ['admin']), ...json }, body: JSON.stringify(PROTOCOL_TERMS) })).status,
    ).toBe(200);
    const created = await fetch(`${url}/v1/referrals`, {
      method: 'POST',
      headers: { authorization: await as(AGENCIES.serd, ['operator']), ...json },
      body: JSON.stringify({ person: PERSON, needs: ['employment', 'addiction'] }),
    });
    expect(created.status).toBe(201);
    const { caseId } = (await created.json()) as { caseId: string };
    const cpi = await fetch(`${url}/v1/cases/${caseId}`, { headers: { authorization: await as(AGENCIES.cpi, ['operator']) } });
    expect(cpi.status).toBe(200);
    expect(((await cpi.json()) as { needs: string[] }).needs).toEqual(['employment']);
  });

  it('logs JSON lines with the request, never the person', async () => {
    // Standard output is written in blocks, at least every 250 ms (src/logging.ts).
    for (let i = 0; i < 40 && !/"msg":"POST \/v1\/referrals 201"/.test(output); i++) await new Promise((r) => setTimeout(r, 50));
    expect(output).toMatch(/"msg":"POST \/v1\/referrals 201"/);
    expect(output).not.toContain(PERSON.fiscalCode);
    expect(output).not.toContain(PERSON.familyName);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('ledger serve on a port it cannot take', () => {
  it('says why and exits 1, letting the data folder go, instead of running on without listening', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-serve-taken-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [join(ROOT, 'bin/ledger.js'), 'serve'], {
        env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      clearTimeout(timer);
      // Killed by the timer, the process would end with a null code.
      expect(code).toBe(1);
      expect(stderr).toMatch(/EADDRINUSE/);
    } finally {
      taken.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
