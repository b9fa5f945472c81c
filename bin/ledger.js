#!/usr/bin/env node
'use strict';
// The package's command (API.md "Command line"); `npm run build` compiles what it runs.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'src', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('ledger: not built yet; run `npm run build` first (npm start does it for you)\n');
  process.exit(1);
}
const { runCli } = require(cli);
runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then((code) => {
  process.exitCode = code;
});
