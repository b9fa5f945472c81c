import { transformFileSync } from '@swc/core';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadOrCreateLocalSigningKey, localKeyFile } from '../../src/access/local-signing-key';
import { runCli } from '../../src/cli';

const ROOT = join(__dirname, '../..');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/**
 * Other processes run the sources under test, compiled here file by file (src/data-folder.ts and
 * src/access/local-signing-key.ts need nothing but node:, jose and better-sqlite3).
 */
let compiled: string;
function compile(file: string): void {
  const out = join(compiled, file.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, transformFileSync(join(ROOT, file), { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, swcrc: false }).code);
}
function node(script: string): ChildProcess {
  return spawn(process.execPath, ['-e', script], { cwd: compiled, env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') }, stdio: ['ignore', 'pipe', 'pipe'] });
}
function lines(child: ChildProcess): Promise<string[]> {
  let text = '';
  child.stdout!.on('data', (chunk) => (text += String(chunk)));
  child.stderr!.on('data', (chunk) => (text += String(chunk)));
  return new Promise((resolve) => child.on('exit', () => resolve(text.split('\n').filter(Boolean))));
}

beforeAll(() => {
  compiled = mkdtempSync(join(tmpdir(), 'ledger-compiled-'));
  compile('src/data-folder.ts');
  compile('src/access/local-signing-key.ts');
});
afterAll(() => rmSync(compiled, { recursive: true, force: true }));

describe('one data folder, one process', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-folder-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses rebuild, retention and keys rotate while another process holds the folder, keeps the read-only commands working, and frees the folder when the holder dies', async () => {
    const env = { DATA_DIR: dataDir };
    expect(await runCli(['protocol', 'apply', join(ROOT, 'examples/valdinievole-protocol.json')], capture().io, env)).toBe(0);
    const holder = node(
      `globalThis.held = require('./src/data-folder').holdDataFolder({ dataDir: ${JSON.stringify(dataDir)} }); console.log('held'); setInterval(() => {}, 1000);`,
    );
    const exited = lines(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (chunk) => String(chunk).includes('held') && resolve());
      holder.on('exit', () => reject(new Error('the holder exited')));
    });
    try {
      const refusal = new RegExp(`^error: DATA_DIR ${dataDir} is in use by another ledger process \\(pid ${holder.pid} on .+ since .+, ${dataDir}/lock\\.db\\); stop it first$`);
      for (const command of [['rebuild'], ['retention'], ['keys', 'rotate']]) {
        const run = capture();
        expect({ command, code: await runCli(command, run.io, env), err: run.err }).toEqual({ command, code: 1, err: [expect.stringMatching(refusal)] });
      }
      for (const command of [
        ['verify'],
        ['export', '--zone', 'valdinievole'],
        ['retention', '--dry-run'],
        ['token', '--zone', 'valdinievole', '--agency', 'sds-valdinievole', '--sub', 'x', '--roles', 'operator'],
      ]) {
        const run = capture();
        expect({ command, code: await runCli(command, run.io, env), err: run.err }).toEqual({ command, code: 0, err: [] });
      }
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    const after = capture();
    expect({ code: await runCli(['rebuild'], after.io, env), err: after.err }).toEqual({ code: 0, err: [] });
    expect({ code: await runCli(['keys', 'rotate'], after.io, env), err: after.err }).toEqual({ code: 0, err: [] });
  });

  it('creates the token signing key once when several processes start at once: every one signs with the same key', async () => {
    const startAt = Date.now() + 1_500; // every child has loaded jose by then, and they race from the same instant
    const children = Array.from({ length: 6 }, () =>
      node(
        `const m = require('./src/access/local-signing-key'); const go = ${startAt}; while (Date.now() < go); m.loadOrCreateLocalSigningKey(${JSON.stringify(dataDir)}).then((k) => console.log(k.kid));`,
      ),
    );
    const kids = (await Promise.all(children.map(lines))).map((out) => out.at(-1));
    const kept = (JSON.parse(readFileSync(localKeyFile(dataDir), 'utf8')) as { kid: string }).kid;
    expect(kids).toEqual(Array.from({ length: 6 }, () => kept));
    expect(readdirSync(join(dataDir, 'auth'))).toEqual(['token-signing-key.jwk.json']);
    expect(statSync(localKeyFile(dataDir)).mode & 0o777).toBe(0o600);
  });

  it('creates the token signing key once for concurrent calls in one process, leaving nothing aside', async () => {
    const keys = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateLocalSigningKey(dataDir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(readdirSync(join(dataDir, 'auth'))).toEqual(['token-signing-key.jwk.json']);
  });
});

describe('commands that work on a data folder the service made', () => {
  // Each would otherwise make a new key store, master key and ledger, and report on them.
  const commands = [
    ['verify'],
    ['audit', 'keys'],
    ['audit', 'checkpoint'],
    ['export'],
    ['replay', '--agency', 'serd-valdinievole'],
    ['retention', '--dry-run'],
    ['rebuild'],
    ['keys', 'rotate'],
    ['keys', 'backup', 'keys-backup.db'],
    ['backup', 'backup-folder'],
  ];

  it.each([
    ['a folder that is not there', false],
    ['an empty folder', true],
  ])('refuse %s, and make nothing in it', async (_, made) => {
    const parent = mkdtempSync(join(tmpdir(), 'ledger-no-folder-'));
    try {
      const dataDir = join(parent, 'data');
      if (made) mkdirSync(dataDir);
      for (const args of commands) {
        const c = capture();
        const code = await runCli(
          args.map((a) => (a.includes('backup') && a !== 'backup' ? join(parent, a) : a)),
          c.io,
          { DATA_DIR: dataDir },
        );
        expect({ args, code, err: c.err[0] }).toEqual({ args, code: 1, err: expect.stringContaining(`DATA_DIR ${dataDir} holds no key store`) });
      }
      expect(readdirSync(parent)).toEqual(made ? ['data'] : []);
      if (made) expect(readdirSync(join(parent, 'data'))).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('a data folder made by a command rather than by the service', () => {
  it('is owner-only as the service makes it, whatever the umask: protocol apply, then a checkpoint', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'ledger-cli-made-'));
    const previous = process.umask(0o022);
    try {
      const dataDir = join(parent, 'data');
      const env = { DATA_DIR: dataDir };
      const apply = capture();
      expect(await runCli(['protocol', 'apply', join(ROOT, 'examples/valdinievole-protocol.json')], apply.io, env)).toBe(0);
      expect(await runCli(['audit', 'checkpoint'], capture().io, env)).toBe(0);
      const loose: string[] = [];
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          const stat = statSync(path);
          if ((stat.mode & 0o077) !== 0) loose.push(`${path.slice(dataDir.length)} ${(stat.mode & 0o777).toString(8)}`);
          if (stat.isDirectory()) walk(path);
        }
      };
      walk(dataDir);
      expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['ledger.db', 'keys', 'audit']));
      expect(loose).toEqual([]);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      process.umask(previous);
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
