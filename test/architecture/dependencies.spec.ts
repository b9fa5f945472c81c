import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Executable architecture rules (STYLE.md habit 10, ARCHITECTURE.md "Where things live").
 * Each rule is checked against the real tree, and against a planted violation, so that a rule
 * that can no longer fail is noticed.
 */
const ROOT = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  return readdirSync(abs).flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return sourceFiles(relative(ROOT, path));
    return name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

/** What a file imports: package names, or repository-relative paths for relative imports. */
function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName }) =>
    fileName.startsWith('.')
      ? relative(ROOT, resolve(ROOT, dirname(file), fileName))
      : fileName
          .split('/')
          .slice(0, fileName.startsWith('@') ? 2 : 1)
          .join('/'),
  );
}

interface Rule {
  readonly name: string;
  readonly files: (file: string) => boolean;
  readonly allowed: (imported: string) => boolean;
  /** A file and a line that break the rule: proves the rule can fail. */
  readonly violation: { file: string; line: string };
}

const NODE_BUILTIN = (i: string) => i.startsWith('node:');
const EVENTS = (i: string) => i === 'events' || i.startsWith('events/');
/** The case behaviours: one file each, pure decisions; the generic command/handler maker, the ledger runner and the scheduler are not behaviours. */
const BEHAVIOUR_FILE = (f: string) =>
  f.startsWith('src/case/') && !['case-command.ts', 'case-ledger.ts', 'consent-expiry.ts', 'behaviours.ts'].includes(f.slice('src/case/'.length));

const RULES: Rule[] = [
  {
    name: 'events/ imports only zod and itself',
    files: (f) => f.startsWith('events/'),
    allowed: (i) => i === 'zod' || EVENTS(i),
    violation: { file: 'events/x.ts', line: "import { Injectable } from '@nestjs/common';" },
  },
  {
    name: 'projections/ never imports src/',
    files: (f) => f.startsWith('projections/'),
    allowed: (i) => !i.startsWith('src/'),
    violation: { file: 'projections/x.ts', line: "import { CaseLedger } from '../src/case/case-ledger';" },
  },
  {
    name: 'projections/policy imports only events/, zod and itself',
    files: (f) => f.startsWith('projections/policy/'),
    allowed: (i) => i === 'zod' || EVENTS(i) || i.startsWith('projections/policy/'),
    violation: { file: 'projections/policy/x.ts', line: "import type Database from 'better-sqlite3';" },
  },
  {
    name: 'only the EventStoreDB adapter imports @eventstore/db-client',
    files: (f) => f !== 'src/store/eventstoredb-event-store.ts',
    allowed: (i) => i !== '@eventstore/db-client' && i !== '@kurrent/kurrentdb-client',
    violation: { file: 'src/store/open-event-store.ts', line: "import { EventStoreDBClient } from '@eventstore/db-client';" },
  },
  {
    name: 'case behaviours import no framework, no driver and no store',
    files: BEHAVIOUR_FILE,
    allowed: (i) =>
      NODE_BUILTIN(i) ||
      i === 'zod' ||
      EVENTS(i) ||
      i === 'projections/policy' ||
      i.startsWith('src/case/') ||
      ['src/errors', 'src/access/actor', 'src/ledger/command-ids'].includes(i),
    violation: { file: 'src/case/x.ts', line: "import { CommandHandler } from '@nestjs/cqrs';" },
  },
  {
    name: 'src/http does not import read models (it reaches views only through the caller)',
    files: (f) => f.startsWith('src/http/'),
    allowed: (i) => !i.startsWith('projections/read-models'),
    violation: { file: 'src/http/x.ts', line: "import type { ReadModels } from '../../projections/read-models';" },
  },
];

/** Calls that open the read models of an agency or a zone: only the access module (src/access/caller.ts) may make them. */
const DOORS = /cases\.partition\(|trail\.query\(|index\.casesOfPerson\(|index\.summaries\(|Caller\.mint\(/;

/** Where the doors may be called: the caller (and the token verifier, which mints callers); the read models that define them. */
const DOOR_KEEPERS = (f: string) => f === 'src/access/caller.ts' || f === 'src/access/tokens.ts' || f.startsWith('projections/read-models/');

function doorCalls(files: Array<{ file: string; text: string }>): string[] {
  return files
    .filter(({ file }) => !DOOR_KEEPERS(file))
    .flatMap(({ file, text }) => text.split('\n').flatMap((line, n) => (DOORS.test(line) ? [`${file}:${n + 1} ${line.trim()}`] : [])));
}

const ALL = [...sourceFiles('events'), ...sourceFiles('src'), ...(safeDir('projections') ? sourceFiles('projections') : [])];

function safeDir(dir: string): boolean {
  try {
    return statSync(join(ROOT, dir)).isDirectory();
  } catch {
    return false;
  }
}

function breaches(rule: Rule, files: Array<{ file: string; imports: string[] }>): string[] {
  return files.filter(({ file }) => rule.files(file)).flatMap(({ file, imports }) => imports.filter((i) => !rule.allowed(i)).map((i) => `${file} imports ${i}`));
}

/** What makes a test more than a unit test: a real HTTP service, a store on disk, a data folder, the CLI. */
const touchesTheWorld = (text: string) => /startService\(|new SqliteEventStore\(|mkdtempSync\(|runCli\(|runDemo\(|createApp\(/.test(text);

describe('architecture rules', () => {
  const tree = ALL.map((file) => ({ file, imports: importsOf(file) }));

  it('checks a real tree', () => {
    expect(tree.length).toBeGreaterThan(30);
  });

  it("lets nothing but the access module open an agency's partition, its DPO trail or its zone figures", () => {
    const sources = ALL.map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));
    expect(doorCalls(sources)).toEqual([]);
    expect(doorCalls([{ file: 'src/reads/x.ts', text: 'const rows = models.cases.partition({ zone, agency: body.agency }).list(q);' }])).toHaveLength(1);
    expect(doorCalls([{ file: 'src/http/x.ts', text: 'const caller = Caller.mint(actor, models);' }])).toHaveLength(1);
  });

  it('names every test file by its level: .spec.ts (pure), .int.spec.ts (real files or stores), .e2e.spec.ts (real HTTP)', () => {
    const specs = sourceFiles('test').filter((f) => f.endsWith('.spec.ts') && f !== 'test/architecture/dependencies.spec.ts');
    const misnamed = specs.filter((f) => !f.endsWith('.int.spec.ts') && !f.endsWith('.e2e.spec.ts') && touchesTheWorld(readFileSync(join(ROOT, f), 'utf8')));
    expect(misnamed).toEqual([]);
    expect(touchesTheWorld('const service = await startService();')).toBe(true);
  });

  it.each(RULES)('$name', (rule) => {
    expect(breaches(rule, tree)).toEqual([]);
    const planted = { file: rule.violation.file, imports: importsOf(rule.violation.file, rule.violation.line) };
    expect(breaches(rule, [planted])).toHaveLength(1);
  });
});
