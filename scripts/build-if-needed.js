#!/usr/bin/env node
// `npm start` builds only when dist/ is missing or older than a source file, so a fresh clone just works.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const marker = path.join(root, 'dist', 'src', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const sources = Math.max(
  newestMtime(path.join(root, 'src')),
  fs.statSync(path.join(root, 'mikro-orm.config.ts')).mtimeMs,
  fs.statSync(path.join(root, 'package-lock.json')).mtimeMs,
);
if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs < sources) {
  console.log('Building (dist/ is missing or stale)…');
  execSync('npx --no-install nest build', { cwd: root, stdio: 'inherit' });
}
