#!/usr/bin/env node
// Offline stand-in for a native `solc` binary, backed by solc-js from node_modules.
//
// py-solc-x (and so Brownie) finds compilers at ~/.solcx/solc-v<VERSION> and calls them as
//   solc --version          -> must print "Version: <semver>+commit.<hash>.<platform>" on line 2
//   solc --standard-json    -> standard JSON on stdin, standard JSON on stdout
// `make setup` (tools/install_solc.sh) installs a copy of this file there, behind a sh header that runs
// node on it. That copy is shared by every checkout on the machine, so it names none: solc-js is loaded
// from node_modules/solc under the current directory, which is the project root when Brownie runs it.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  fs.writeSync(2, `solc-shim: ${message}\n`);
  process.exit(1);
}

// The version the installed copy is named for (solc-v0.8.30); null when run as tools/solc-shim.js.
const NAMED = (path.basename(__filename).match(/^solc-v(\d+\.\d+\.\d+)$/) || [null, null])[1];

function loadSolc() {
  const cwd = process.cwd();
  const dir = path.join(cwd, 'node_modules', 'solc');
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    fail(`no node_modules/solc under ${cwd}; run \`make setup\` in your checkout`);
  }
  const have = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if (NAMED && have !== NAMED) {
    fail(`${__filename} is solc ${NAMED} but node_modules/solc under ${cwd} is ${have}`);
  }
  return require(dir);
}

function writeAll(text) {
  // process.stdout.write + exit truncates at 64 KiB on a pipe; write synchronously instead.
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function findImport(importPath) {
  const candidates = [path.resolve(process.cwd(), importPath), path.resolve(importPath)];
  for (const p of candidates) {
    if (fs.existsSync(p)) return { contents: fs.readFileSync(p, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

function main(argv) {
  if (argv.includes('--version') || argv.includes('-v')) {
    // solc-js reports "...Emscripten.clang"; py-solc-x parses the semver from this line.
    const long = loadSolc().version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
    writeAll(`solc, the solidity compiler commandline interface\nVersion: ${long}\n`);
    return 0;
  }
  if (argv.includes('--standard-json')) {
    const solc = loadSolc(); // before reading stdin: without solc-js, fail at once
    writeAll(solc.compile(readStdin(), { import: findImport }));
    return 0;
  }
  const known = new Set(['--allow-paths', '--base-path', '--include-path']);
  const unknown = argv.filter((a) => a.startsWith('-') && !known.has(a));
  process.stderr.write(
    `solc-shim: only --version and --standard-json are supported (got: ${argv.join(' ') || 'no arguments'}` +
      (unknown.length ? `; unknown flags: ${unknown.join(' ')}` : '') + ')\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
