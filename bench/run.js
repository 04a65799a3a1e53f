#!/usr/bin/env node
'use strict';

/**
 * `npm run bench` — the prediction path under load, against the physical limit on the same machine.
 *
 * Starts the built service (dist/) against a fresh database, Redis prefix and storage dir, creates a user, an API
 * key, the bench models and a webhook on a local sink; then loads `POST /api/v1/models/{id}/predictions` with wrk
 * at several connection counts and, in the same run, the same requests against bench/bare-server.js (node:http +
 * onnxruntime-node, no framework, no database), alternating the two. See bench/README.md for options and results.
 */
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
const DIST = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(ROOT, 'dist');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));
const { FLOOR_TABLE, FLOOR_DELIVERIES } = require('./floor');
const { measureLoopback } = require('./loopback');

// ---------------------------------------------------------------------------------------------------------
// Options

const DEFAULTS = {
  duration: 10,
  warmup: 2,
  connections: [1, 16, 64],
  models: ['skl-linreg', 'pt-mnist-mlp', 'tf-keras-genre14'],
  workers: Number(process.env.WEB_CONCURRENCY) || 1,
  bare: true,
  floor: true,
  // The floor's cells run for the models the targets name (genre14's 1 MB bodies add time and say little more).
  floorModels: ['skl-linreg', 'pt-mnist-mlp'],
  // `ledger`: the floor also records each delivery and its outcome, as the product must; `minimal`: session 6's floor.
  floorKind: 'ledger',
  webhookWorkers: process.env.WEBHOOK_WORKERS === undefined ? 1 : Number(process.env.WEBHOOK_WORKERS),
  batching: true,
  listing: [10_000, 1_000_000],
  soak: 0,
  soakConnections: 16,
  webhook: true,
  auth: 'apikey',
  build: true,
  keepDb: false,
  out: null,
  readme: null,
  label: '',
  env: {},
  bareEnv: {},
};

function parseArgs(argv) {
  const o = { ...DEFAULTS, env: {}, bareEnv: {} };
  let soakOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--duration':
        o.duration = Number(next());
        break;
      case '--warmup':
        o.warmup = Number(next());
        break;
      case '--connections':
        o.connections = next().split(',').map(Number);
        break;
      case '--models':
        o.models = next().split(',').filter(Boolean);
        break;
      case '--workers':
        o.workers = Number(next());
        break;
      case '--no-bare':
        o.bare = false;
        break;
      case '--webhook-workers':
        o.webhookWorkers = Number(next());
        break;
      case '--floor-models':
        o.floorModels = next().split(',').filter(Boolean);
        break;
      case '--no-floor':
        o.floor = false;
        break;
      case '--floor-kind':
        o.floorKind = next();
        if (!['ledger', 'minimal'].includes(o.floorKind))
          throw new Error('--floor-kind is ledger or minimal');
        break;
      case '--bare-only':
        o.bareOnly = true;
        break;
      case '--auth':
        o.auth = next();
        if (!['apikey', 'jwt'].includes(o.auth)) throw new Error('--auth is apikey or jwt');
        break;
      case '--no-webhook':
        o.webhook = false;
        break;
      case '--no-batching':
        o.batching = false;
        break;
      case '--listing':
        o.listing = next().split(',').filter(Boolean).map(Number);
        break;
      case '--no-listing':
        o.listing = [];
        break;
      case '--soak':
        o.soak = Number(next());
        soakOnly = true;
        break;
      case '--soak-max-seconds':
        o.soakMaxSeconds = Number(next());
        break;
      case '--soak-connections':
        o.soakConnections = Number(next());
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--keep-db':
        o.keepDb = true;
        break;
      case '--out':
        o.out = next();
        break;
      case '--readme':
        o.readme = true;
        break;
      case '--no-readme':
        o.readme = false;
        break;
      case '--label':
        o.label = next();
        break;
      case '--env': {
        // --env NAME=value: extra environment for the service (e.g. INFERENCE_BATCH_WINDOW_MS=0)
        const [k, ...v] = next().split('=');
        o.env[k] = v.join('=');
        break;
      }
      case '--bare-env': {
        // --bare-env NAME=value: extra environment for the bare server (e.g. BARE_ALLOW_SPINNING=1)
        const [k, ...v] = next().split('=');
        o.bareEnv[k] = v.join('=');
        break;
      }
      case '--quick':
        o.duration = 3;
        o.warmup = 1;
        o.listing = [10_000];
        break;
      case '--help':
      case '-h':
        console.log(fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8').split('## Results')[0]);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (see bench/README.md)`);
    }
  }
  if (soakOnly) {
    // The soak is its own run: no matrix, no listing unless asked for explicitly afterwards.
    o.models = argv.includes('--models') ? o.models : [];
    o.batching = argv.includes('--batching');
    o.listing = argv.includes('--listing') ? o.listing : [];
  }
  if (o.readme === null)
    o.readme = !soakOnly && o.duration >= 10 && o.models.length === DEFAULTS.models.length;
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
const round = (n, d = 1) => (n === null || n === undefined || Number.isNaN(n) ? null : Number(n.toFixed(d)));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** PIDs of `pid` and all its descendants (a /proc scan: this kernel has no task/<pid>/children). */
function processTree(pid) {
  const parents = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!parents.has(ppid)) parents.set(ppid, []);
      parents.get(ppid).push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const c of parents.get(p) ?? []) stack.push(c);
  }
  return out;
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process tree in MB, and per process. */
function treeRss(pid) {
  const pids = processTree(pid);
  const per = pids.map((p) => ({ pid: p, rssMb: round(rssKb(p) / 1024) }));
  return { totalMb: round(per.reduce((s, p) => s + p.rssMb, 0)), processes: per };
}

const CLK_TCK = 100;
/** CPU seconds (user + system) used so far by a process tree. */
function treeCpuSeconds(pid) {
  let seconds = 0;
  for (const p of processTree(pid)) seconds += processCpuSeconds(p) ?? 0;
  return seconds;
}

/** User + system CPU seconds of one process (`/proc/<pid>/stat`); null once it has exited or is not on this machine. */
function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * What Postgres did for the bench database: the CPU seconds of its backends (other than the bench's own connection)
 * and the WAL position, to say per request what the database's share of a prediction cost; with `since` (an earlier
 * reading) also the WAL bytes written since then. Backends that came or went between two readings count with what
 * they had at the reading that saw them.
 */
async function databaseWork(ctx, since = null) {
  const { rows } = await ctx.db.query(
    `select pg_current_wal_lsn()::text as lsn,
            pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce($1, pg_current_wal_lsn()::text)::pg_lsn)::float8 as wal,
            coalesce(array_agg(pid) filter (where pid <> pg_backend_pid()), '{}') as pids
       from pg_stat_activity where datname = current_database()`,
    [since?.lsn ?? null],
  );
  const cpu = new Map();
  for (const pid of rows[0].pids) {
    const seconds = processCpuSeconds(pid); // null: not on this machine (a remote database), or exited
    if (seconds !== null) cpu.set(pid, seconds);
  }
  return { lsn: rows[0].lsn, walBytes: rows[0].wal, cpu };
}

/** µs of Postgres CPU and bytes of WAL per request between a `databaseWork` reading and one taken `since` it. */
function databaseShare(before, after, requests) {
  if (!requests) return {};
  let seconds = 0;
  for (const [pid, t] of after.cpu) seconds += t - (before.cpu.get(pid) ?? 0);
  return {
    dbCpuUsPerRequest: after.cpu.size ? round((seconds * 1e6) / requests, 0) : null,
    walBytesPerRequest: round(after.walBytes / requests, 0),
  };
}

/** Busy and total jiffies of the whole machine (to say how noisy it was). */
function machineCpu() {
  const [, ...v] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = v.map(Number);
  const idle = n[3] + (n[4] || 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function loadAvg() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

async function httpJson(base, method, url, { body, headers = {}, form } = {}) {
  const init = { method, headers: { ...headers } };
  if (form) init.body = form;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(base + url, init);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

// ---------------------------------------------------------------------------------------------------------
// Preparation: build, wrk

function build() {
  if (process.env.BENCH_DIST) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

function ensureWrk() {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  log('wrk is missing: apt-get install -y wrk');
  let r = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'inherit' });
  }
  if (r.status !== 0) throw new Error('could not install wrk (apt-get install -y wrk)');
}

// ---------------------------------------------------------------------------------------------------------
// Bench inputs

function nest(data, dims) {
  let offset = 0;
  const build = (depth) => {
    const out = [];
    for (let i = 0; i < dims[depth]; i++)
      out.push(depth === dims.length - 1 ? data[offset++] : build(depth + 1));
    return out;
  };
  return build(0);
}

/** The first `rows` rows of the model's first test case (cycled when the case has fewer). */
function caseRows(model, rows) {
  const cases = JSON.parse(fs.readFileSync(path.join(FIXTURES, model, 'cases.json'), 'utf8'));
  const tensor = Object.values(cases.cases[0].inputs)[0];
  const all = nest(tensor.data, tensor.dims);
  const out = [];
  for (let i = 0; i < rows; i++) out.push(all[i % all.length]);
  return out;
}

const SCENARIOS = {
  'skl-linreg': { model: 'skl-linreg', rows: 1, label: 'skl-linreg (1 row)' },
  'pt-mnist-mlp': { model: 'pt-mnist-mlp', rows: 1, label: 'pt-mnist-mlp (1×784)' },
  'tf-keras-genre14': { model: 'tf-keras-genre14', rows: 32, label: 'tf-keras-genre14 (batch 32)' },
  'tf-keras-genre14-b1': { model: 'tf-keras-genre14', rows: 1, label: 'tf-keras-genre14 (batch 1)' },
};

function writeBody(dir, scenario) {
  const file = path.join(dir, `${scenario}.json`);
  const { model, rows } = SCENARIOS[scenario];
  fs.writeFileSync(file, JSON.stringify({ input: caseRows(model, rows) }));
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// Processes: the service, the bare server, the webhook sink

async function waitFor(fn, what, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < until) {
    try {
      if (await fn()) return;
    } catch (err) {
      lastErr = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
}

function stopProcess(child, timeoutMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startService(ctx, extraEnv = {}) {
  const port = await freePort();
  const logFile = path.join(ctx.tmp, `service-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'a');
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(port),
    DATABASE_URL: ctx.databaseUrl,
    REDIS_PREFIX: ctx.redisPrefix,
    STORAGE_DIR: ctx.storageDir,
    LOG_LEVEL: 'warn',
    THROTTLE_PREDICTIONS_PER_MINUTE: '100000000',
    THROTTLE_AUTH_PER_MINUTE: '1000000',
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    JWT_ACCESS_TTL_SECONDS: '86400',
    WEB_CONCURRENCY: String(ctx.opts.workers),
    WEBHOOK_WORKERS: String(ctx.opts.webhookWorkers),
    ...ctx.opts.env,
    ...extraEnv,
  };
  // BENCH_NODE_ARGS: extra node flags for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(DIST, 'src', 'bin', 'start.js')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const base = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(
    async () => {
      if (exited)
        throw new Error(
          `the service exited (log: ${logFile})\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`,
        );
      const r = await fetch(`${base}/health/ready`).catch(() => null);
      if (!r || r.status !== 200) return false;
      // cluster mode: every worker listens on the same port; give the others a moment to be up too.
      return true;
    },
    'the service to be ready',
    120_000,
  );
  if (ctx.opts.workers > 1 || ctx.opts.webhookWorkers > 0) await sleep(1500);
  return { child, base, port, logFile, env: extraEnv };
}

/** `models`: {routeId: fixtureName}; the bare server answers POST /api/v1/models/<routeId>/predictions. */
async function startBare(ctx, models, extraEnv = {}) {
  const port = await freePort();
  const spec = {};
  for (const [id, name] of Object.entries(models)) spec[id] = path.join(FIXTURES, name, 'model.onnx');
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-server.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...ctx.opts.bareEnv,
      ...extraEnv,
      PORT: String(port),
      BARE_MODELS: JSON.stringify(spec),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

/** A local webhook receiver: answers 200 at once and counts deliveries by event type. */
function startSink() {
  const counts = { total: 0, byType: {} };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      counts.total++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const type = body.type ?? body.event ?? body.eventType ?? 'unknown';
        counts.byType[type] = (counts.byType[type] ?? 0) + 1;
      } catch {
        counts.byType.unparsed = (counts.byType.unparsed ?? 0) + 1;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, counts, url: `http://127.0.0.1:${server.address().port}/hook` }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Setting up the service: user, key, models, webhook

async function setUp(ctx, svc) {
  const base = `${svc.base}/api/v1`;
  const email = `bench-${Date.now()}@example.com`;
  const reg = await httpJson(base, 'POST', '/auth/register', {
    body: { email, password: 'bench-password-123', fullName: 'Bench User' },
  });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const jwt = reg.body.accessToken;
  const userId = reg.body.user?.id;
  const bearer = { Authorization: `Bearer ${jwt}` };
  const auth = { jwt, userId, apiKey: null, kind: 'jwt' };
  const key =
    ctx.opts.auth === 'apikey'
      ? await httpJson(base, 'POST', '/api-keys', { body: { name: 'bench' }, headers: bearer })
      : { status: 0, body: null };
  if (key.status === 201 && key.body?.key) {
    auth.apiKey = key.body.key;
    auth.kind = 'apiKey';
  } else {
    if (ctx.opts.auth === 'apikey')
      log(`no API key route (${key.status}): the bench authenticates with a JWT`);
  }
  const models = {};
  const names = new Set(ctx.opts.models.map((s) => SCENARIOS[s]?.model ?? s));
  if (ctx.opts.batching) names.add('tf-keras-genre14');
  if (ctx.opts.soak || ctx.opts.listing.length) names.add('skl-linreg');
  for (const name of names) models[name] = await uploadModel(base, bearer, name, name);
  let webhook = null;
  if (ctx.opts.webhook) {
    const hook = await httpJson(base, 'POST', '/webhooks', {
      body: { url: ctx.sink.url, events: ['prediction.success'] },
      headers: bearer,
    });
    if (hook.status === 201) webhook = hook.body.id;
    else log(`no webhook created (${hook.status}: ${JSON.stringify(hook.body).slice(0, 200)})`);
  }
  return { auth, models, webhook, bearer, base };
}

async function uploadModel(base, headers, fixture, name) {
  const form = new FormData();
  const bytes = fs.readFileSync(path.join(FIXTURES, fixture, 'model.onnx'));
  form.append('file', new Blob([bytes]), 'model.onnx');
  form.append('name', name);
  const r = await httpJson(base, 'POST', '/models', { form, headers });
  if (r.status !== 201) throw new Error(`upload of ${fixture} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

// ---------------------------------------------------------------------------------------------------------
// Load

/**
 * Runs wrk as a child process and waits for it without blocking this process: the bench's webhook sink lives here
 * and must keep answering the service's deliveries while the load runs (with `spawnSync` it could not, so every
 * delivery attempted during a cell waited for its 10 s timeout).
 */
function runWrk(ctx, { url, script, connections, seconds, env }) {
  const outFile = path.join(ctx.tmp, `wrk-${process.hrtime.bigint()}.json`);
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, {
      env: { ...process.env, ...env, BENCH_OUT_FILE: outFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (status) => {
      if (status !== 0) {
        reject(new Error(`wrk failed (${status}): ${output}`));
        return;
      }
      try {
        const result = JSON.parse(fs.readFileSync(outFile, 'utf8'));
        const idsFile = `${outFile}.ids`;
        result.ids = fs.existsSync(idsFile)
          ? fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean)
          : [];
        resolve(result);
      } catch (err) {
        reject(err);
      }
    });
  });
}

function authEnv(ctx) {
  return ctx.setup.auth.apiKey
    ? { BENCH_API_KEY: ctx.setup.auth.apiKey }
    : { BENCH_BEARER: ctx.setup.auth.jwt };
}

async function countRows(ctx, modelId) {
  const r = await ctx.db.query(
    `select count(*) filter (where status = 'success')::int as success,
            count(*) filter (where status <> 'success')::int as other
       from predictions where model_id = $1`,
    [modelId],
  );
  const row = r.rows[0];
  if (ctx.opts.webhook) {
    // prediction.success events of this model, wherever they are: fanned out into the bench webhook's deliveries
    // by the group commit, or (a build from before that, run with BENCH_DIST) still in the outbox.
    const e = await ctx.db.query(
      `select count(*)::int as n from (
         select event_id from webhook_deliveries
          where event_type = 'prediction.success' and payload -> 'data' ->> 'modelId' = $1::text
         union
         select id from webhook_events where model_id = $1::uuid and type = 'prediction.success') events`,
      [modelId],
    );
    row.events = e.rows[0].n;
  }
  return row;
}

/**
 * VACUUM (ANALYZE) of the tables the prediction path writes, before each service cell. This machine's Postgres
 * runs with autovacuum off (conf.d/90-ci.conf), so without it dead index entries (webhook deliveries claimed
 * for the queue) and stale statistics pile up from cell to cell, which a deployment's autovacuum would clear.
 */
async function vacuum(ctx) {
  const started = Date.now();
  await ctx.db.query('vacuum (analyze) predictions, webhook_deliveries, webhook_events, webhooks');
  return Date.now() - started;
}

/** Waits until the row count stops moving (requests cut off when wrk stopped still finish on the server). */
async function settledRows(ctx, modelId) {
  let last = await countRows(ctx, modelId);
  let stable = 0;
  const until = Date.now() + 30_000;
  while (stable < 3 && Date.now() < until) {
    await sleep(150);
    const now = await countRows(ctx, modelId);
    if (now.success === last.success && now.other === last.other && now.events === last.events) stable++;
    else stable = 0;
    last = now;
  }
  return last;
}

/** Deliveries still pending (not yet answered by the sink, or waiting for a retry). */
async function pendingDeliveries(ctx) {
  const r = await ctx.db.query(`select count(*)::int as n from webhook_deliveries where status = 'pending'`);
  return r.rows[0].n;
}

/**
 * Waits (at most DRAIN_MAX_MS) until `pending()` (webhooks the service or the floor still has to deliver) is 0, so
 * that the next cell — the bare server's above all — does not run beside a delivery backlog. Returns the seconds it
 * took.
 */
const DRAIN_MAX_MS = 120_000;
async function drain(pending) {
  const start = Date.now();
  while (Date.now() - start < DRAIN_MAX_MS && (await pending()) > 0) await sleep(200);
  return round((Date.now() - start) / 1000, 1);
}

/** Answers of a cell's warm-up and measured run together; requests wrk sent but dropped unanswered at its stop. */
function answerTotals(warm, main) {
  const answered = (warm ? warm.ok : 0) + main.ok;
  const sent = (warm ? warm.sent : 0) + main.sent;
  const received = answered + (warm ? warm.bad : 0) + main.bad;
  return { answered, cutOffInFlight: sent - received };
}

/** How many of the given prediction ids are `success` rows. */
async function durableIds(ctx, ids) {
  let found = 0;
  for (let i = 0; i < ids.length; i += 50_000) {
    const r = await ctx.db.query(
      `select count(*)::int as n from predictions where id = any($1::uuid[]) and status = 'success'`,
      [ids.slice(i, i + 50_000)],
    );
    found += r.rows[0].n;
  }
  return found;
}

/** The `ledger` floor's deliveries recorded as sent (status success). */
async function floorDeliveriesDone(ctx) {
  const { rows } = await ctx.db.query(
    `select count(*)::int as n from ${FLOOR_DELIVERIES} where status = 'success'`,
  );
  return rows[0].n;
}

/** The floor server's counters (bench/floor.js): rows committed, webhooks delivered, failed and pending. */
async function floorStats(ctx) {
  return (await httpJson(ctx.floor.base, 'GET', '/floor/stats')).body;
}

/**
 * One cell: warm-up, then the measured run, against the service or the bare server. For the service, every 2xx
 * answer's prediction id is checked to be a durable `success` row, and the rows added are compared with the 2xx
 * count (requests still in flight when wrk stopped are finished by the server but never answered to wrk).
 */
async function loadCell(ctx, target, { scenario, connections, modelId }) {
  const isService = target.kind === 'service';
  const isFloor = target.kind === 'floor';
  const url = `${target.base}/api/v1/models/${isService ? modelId : scenario}/predictions`;
  const env = { ...authEnv(ctx), BENCH_BODY_FILE: ctx.bodies[scenario], BENCH_IDS: isService ? '1' : '0' };
  if (isService) await vacuum(ctx);
  const ledger = isFloor && target.floorKind === 'ledger';
  if (isFloor) await ctx.db.query(`vacuum (analyze) ${FLOOR_TABLE}${ledger ? `, ${FLOOR_DELIVERIES}` : ''}`);
  const recorded0 = ledger ? await floorDeliveriesDone(ctx) : null;
  const floorKind = isFloor ? target.floorKind : undefined;
  const before = isService ? await countRows(ctx, modelId) : null;
  const floor0 = isFloor ? await floorStats(ctx) : null;
  const script = path.join(__dirname, 'wrk', 'post.lua');
  const warm =
    ctx.opts.warmup > 0
      ? await runWrk(ctx, { url, script, connections, seconds: ctx.opts.warmup, env })
      : null;
  const cpu0 = treeCpuSeconds(target.child.pid);
  const m0 = machineCpu();
  const load0 = loadAvg();
  const sink0 = ctx.sink.counts.total;
  const db0 = isService || isFloor ? await databaseWork(ctx) : null;
  const main = await runWrk(ctx, { url, script, connections, seconds: ctx.opts.duration, env });
  const db1 = db0 ? await databaseWork(ctx, db0) : null;
  const sink1 = ctx.sink.counts.total;
  const cpu1 = treeCpuSeconds(target.child.pid);
  const m1 = machineCpu();
  const rss = treeRss(target.child.pid);
  const seconds = main.durationUs / 1e6;
  const cell = {
    target: target.kind,
    floorKind,
    scenario,
    connections,
    reqPerSec: round(main.requests / seconds, 0),
    okPerSec: round(main.ok / seconds, 0),
    p50Ms: round(main.latencyUs.p50 / 1000, 2),
    p99Ms: round(main.latencyUs.p99 / 1000, 2),
    maxMs: round(main.latencyUs.max / 1000, 1),
    ok: main.ok,
    non2xx: main.bad,
    statuses: main.statuses,
    socketErrors: main.errors,
    sampleError: main.sample || undefined,
    rssMb: rss.totalMb,
    rssProcesses: rss.processes.length,
    serverCpuPct: round(((cpu1 - cpu0) / seconds) * 100, 0),
    cpuUsPerRequest: main.requests ? round(((cpu1 - cpu0) * 1e6) / main.requests, 0) : null,
    machineBusyPct: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100, 0),
    loadAvg1: load0[0],
    ...(db0 ? databaseShare(db0, db1, main.requests) : {}),
  };
  if (isFloor) {
    cell.deliveredPerSec = round((sink1 - sink0) / seconds, 0);
    const mid = await floorStats(ctx);
    cell.deliveryBacklog = mid.pending;
    cell.drainSeconds = await drain(async () => (await floorStats(ctx)).pending);
    const floor1 = await floorStats(ctx);
    const { answered, cutOffInFlight } = answerTotals(warm, main);
    const committed = floor1.committed - floor0.committed;
    const extra = committed - answered;
    cell.rows = {
      answered2xx: answered,
      committed,
      webhooksDelivered: floor1.delivered - floor0.delivered,
      webhooksFailed: floor1.failed - floor0.failed,
      cutOffInFlight,
    };
    if (ledger) {
      // Every delivery recorded with its outcome: as many `success` delivery rows added as rows committed.
      cell.rows.deliveriesRecorded = (await floorDeliveriesDone(ctx)) - recorded0;
      cell.rows.outcomesFailed = floor1.outcomesFailed - floor0.outcomesFailed;
    }
    cell.rows.ok =
      cell.non2xx === 0 &&
      extra >= 0 &&
      extra <= cell.rows.cutOffInFlight &&
      cell.rows.webhooksDelivered === committed &&
      (!ledger || (cell.rows.deliveriesRecorded === committed && cell.rows.outcomesFailed === 0));
    cell.rowsCheck =
      `${cell.rows.ok ? 'ok' : 'FAIL'}: ${answered} 2xx, rows +${committed}` +
      `, webhooks delivered +${cell.rows.webhooksDelivered} (failed ${cell.rows.webhooksFailed})` +
      (ledger ? `, deliveries recorded +${cell.rows.deliveriesRecorded}` : '');
  }
  if (isService) {
    // Webhooks the sink received while wrk ran (the service's delivery pace under this load), what was still
    // pending when it stopped, and how long the rest then took.
    cell.deliveredPerSec = round((sink1 - sink0) / seconds, 0);
    cell.deliveryBacklog = await pendingDeliveries(ctx);
    cell.drainSeconds = await drain(() => pendingDeliveries(ctx));
    const after = await settledRows(ctx, modelId);
    const ids = [...(warm ? warm.ids : []), ...main.ids];
    const { answered, cutOffInFlight } = answerTotals(warm, main);
    const durable = await durableIds(ctx, ids);
    cell.rows = {
      answered2xx: answered,
      idsSeen: ids.length,
      durable,
      successRowsAdded: after.success - before.success,
      otherRowsAdded: after.other - before.other,
      cutOffInFlight,
    };
    if (after.events !== undefined) cell.rows.eventsAdded = after.events - before.events;
    const extra = cell.rows.successRowsAdded - answered;
    cell.rows.ok =
      cell.non2xx === 0 &&
      (warm ? warm.bad : 0) === 0 &&
      durable === answered &&
      ids.length === answered &&
      extra >= 0 &&
      extra <= cell.rows.cutOffInFlight &&
      (cell.rows.eventsAdded === undefined || cell.rows.eventsAdded === cell.rows.successRowsAdded);
    cell.rowsCheck =
      `${cell.rows.ok ? 'ok' : 'FAIL'}: ${durable}/${answered} 2xx ids durable; rows +${cell.rows.successRowsAdded}` +
      (extra ? ` (= 2xx + ${extra} cut off in flight)` : '') +
      (cell.rows.eventsAdded !== undefined ? `, prediction.success events +${cell.rows.eventsAdded}` : '');
  }
  return cell;
}

function describeCell(c) {
  const rows = c.rowsCheck ? `  rows ${c.rowsCheck}` : '';
  return (
    `${c.target.padEnd(7)} ${c.scenario.padEnd(20)} c=${String(c.connections).padEnd(3)} ` +
    `${String(c.reqPerSec).padStart(6)} req/s  p50 ${String(c.p50Ms).padStart(7)} ms  p99 ${String(c.p99Ms).padStart(7)} ms  ` +
    `RSS ${c.rssMb} MB  cpu ${c.serverCpuPct}% (${c.cpuUsPerRequest} µs/req)` +
    (c.walBytesPerRequest !== undefined
      ? `  postgres ${c.dbCpuUsPerRequest ?? '?'} µs/req, WAL ${c.walBytesPerRequest} B/req`
      : '') +
    `  non2xx ${c.non2xx}${rows}` +
    (c.deliveredPerSec !== undefined
      ? `  webhooks ${c.deliveredPerSec}/s, ${c.deliveryBacklog} pending at the end, drained in ${c.drainSeconds} s`
      : '')
  );
}

async function runMatrix(ctx) {
  const cells = [];
  let turn = 0;
  for (const scenario of ctx.opts.models) {
    const modelId = ctx.setup.models[SCENARIOS[scenario].model];
    for (const connections of ctx.opts.connections) {
      // The targets take turns going first, so that none always runs on a machine fresh from a pause.
      const floor = ctx.opts.floorModels.includes(scenario) ? ctx.floor : null;
      const targets = ctx.opts.bareOnly ? [ctx.bare] : [ctx.service, ctx.bare, floor].filter(Boolean);
      const order = targets.map((_, i) => targets[(i + turn) % targets.length]);
      turn++;
      const pair = {};
      for (const target of order) {
        const cell = await loadCell(ctx, target, { scenario, connections, modelId });
        log(describeCell(cell));
        pair[target.kind] = cell;
      }
      if (!pair.service) {
        cells.push({ scenario, connections, service: null, bare: pair.bare });
        continue;
      }
      const row = {
        scenario,
        connections,
        service: pair.service,
        bare: pair.bare ?? null,
        floor: pair.floor ?? null,
      };
      if (pair.bare) {
        row.throughputRatio = round(pair.service.reqPerSec / pair.bare.reqPerSec, 2);
        row.p99Ratio = round(pair.service.p99Ms / pair.bare.p99Ms, 1);
      }
      if (pair.floor) {
        row.serviceVsFloor = round(pair.service.reqPerSec / pair.floor.reqPerSec, 2);
        if (pair.bare) row.floorRatio = round(pair.floor.reqPerSec / pair.bare.reqPerSec, 2);
      }
      cells.push(row);
    }
  }
  return cells;
}

// ---------------------------------------------------------------------------------------------------------
// Dynamic batching: genre14 batch-1 requests at 16 connections, window 0 vs the default

async function runBatching(ctx) {
  const scenario = 'tf-keras-genre14-b1';
  const modelId = ctx.setup.models['tf-keras-genre14'];
  const connections = 16;
  const out = {};
  // The running service has the default window; a second one with the window at 0 (off) runs against the same DB.
  log('dynamic batching: service with the default window');
  out.on = await loadCell(ctx, ctx.service, { scenario, connections, modelId });
  log(describeCell(out.on));
  await stopProcess(ctx.service.child);
  log('dynamic batching: service with INFERENCE_BATCH_WINDOW_MS=0');
  const off = { ...(await startService(ctx, { INFERENCE_BATCH_WINDOW_MS: '0' })), kind: 'service' };
  try {
    out.off = await loadCell(ctx, off, { scenario, connections, modelId });
    log(describeCell(out.off));
  } finally {
    await stopProcess(off.child);
  }
  ctx.service = { ...(await startService(ctx)), kind: 'service' };
  if (ctx.bare) {
    out.bare = await loadCell(ctx, ctx.bare, { scenario, connections, modelId });
    log(describeCell(out.bare));
  }
  out.speedup = round(out.on.reqPerSec / out.off.reqPerSec, 2);
  log(`dynamic batching speed-up: ${out.speedup}×`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Listing: GET /predictions?modelId= at 10k and 1M rows

async function runListing(ctx) {
  const results = [];
  const script = path.join(__dirname, 'wrk', 'get.lua');
  for (const n of ctx.opts.listing) {
    const name = `listing-${n}`;
    // Rows added to the skl-linreg model uploaded at set-up (no new upload: the service may have restarted).
    void name;
    const modelId = ctx.setup.models['skl-linreg'];
    const t0 = Date.now();
    // Rows a millisecond apart, newest now; plain SQL, as fast as Postgres can write them.
    await ctx.db.query(
      `insert into predictions (id, model_id, user_id, input_data, output_data, inference_time_ms, status, error_message, created_at)
       select gen_random_uuid(), $1, $2, '[[1.5, 2.5, 3.5, 4.5]]'::jsonb, '{"variable": [[42.0]]}'::jsonb, 1,
              'success', null, now() - g * interval '1 millisecond'
         from generate_series(1, $3::int) g`,
      [modelId, ctx.setup.auth.userId, n],
    );
    await ctx.db.query('analyze predictions');
    const insertSeconds = round((Date.now() - t0) / 1000, 1);
    log(`listing: ${n} rows inserted in ${insertSeconds} s`);
    const env = authEnv(ctx);
    const urls = {
      own: `${ctx.service.base}/api/v1/predictions?modelId=${modelId}&limit=20`,
      model: `${ctx.service.base}/api/v1/models/${modelId}/predictions?limit=20`,
    };
    // A page deep in the list: the cursor of a row half way down.
    const mid = await ctx.db.query(
      `select id, created_at from predictions where model_id = $1 order by created_at desc, id desc offset $2 limit 1`,
      [modelId, Math.floor(n / 2)],
    );
    const cursor = Buffer.from(
      JSON.stringify([mid.rows[0].created_at.toISOString(), mid.rows[0].id]),
    ).toString('base64url');
    urls.ownDeep = `${urls.own}&cursor=${cursor}`;
    const entry = { rows: n, insertSeconds, routes: {} };
    for (const [key, url] of Object.entries(urls)) {
      const r = await runWrk(ctx, { url, script, connections: 1, seconds: 5, env });
      entry.routes[key] = {
        reqPerSec: round(r.requests / (r.durationUs / 1e6), 0),
        p50Ms: round(r.latencyUs.p50 / 1000, 2),
        p95Ms: round(r.latencyUs.p95 / 1000, 2),
        p99Ms: round(r.latencyUs.p99 / 1000, 2),
        ok: r.ok,
        non2xx: r.bad,
      };
      log(
        `listing ${n} rows ${key}: p95 ${entry.routes[key].p95Ms} ms (${entry.routes[key].reqPerSec} req/s, non2xx ${r.bad})`,
      );
    }
    // The SQL those routes run (MikroORM: user and model filter, keyset as a row comparison, newest first, limit + 1).
    const plans = {
      own: await explain(
        ctx,
        `select p0.* from predictions as p0 where p0.user_id = $1 and p0.model_id = $2
          order by p0.created_at desc, p0.id desc limit 21`,
        [ctx.setup.auth.userId, modelId],
      ),
      ownDeep: await explain(
        ctx,
        `select p0.* from predictions as p0 where p0.user_id = $1 and p0.model_id = $2
            and (p0.created_at, p0.id) < ($3, $4)
          order by p0.created_at desc, p0.id desc limit 21`,
        [ctx.setup.auth.userId, modelId, mid.rows[0].created_at, mid.rows[0].id],
      ),
      model: await explain(
        ctx,
        `select p0.* from predictions as p0 where p0.model_id = $1 order by p0.created_at desc, p0.id desc limit 21`,
        [modelId],
      ),
    };
    entry.plans = plans;
    entry.indexScan = Object.fromEntries(
      Object.entries(plans).map(([k, p]) => [k, /Index (Only )?Scan/.test(p)]),
    );
    results.push(entry);
  }
  return results;
}

async function explain(ctx, sql, params) {
  const r = await ctx.db.query(`explain (analyze, buffers, costs off) ${sql}`, params);
  return r.rows.map((row) => row['QUERY PLAN']).join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Soak: N predictions, RSS sampled

async function runSoak(ctx) {
  const scenario = 'skl-linreg';
  const modelId = ctx.setup.models['skl-linreg'];
  const url = `${ctx.service.base}/api/v1/models/${modelId}/predictions`;
  const script = path.join(__dirname, 'wrk', 'post.lua');
  const env = { ...authEnv(ctx), BENCH_BODY_FILE: ctx.bodies[scenario], BENCH_IDS: '0' };
  const samples = [];
  const started = Date.now();
  let done = 0;
  let non2xx = 0;
  const sample = () => {
    const rss = treeRss(ctx.service.child.pid);
    samples.push({ seconds: round((Date.now() - started) / 1000, 0), predictions: done, rssMb: rss.totalMb });
  };
  const before = await countRows(ctx, modelId);
  sample();
  const deadline = started + (ctx.opts.soakMaxSeconds ?? Infinity) * 1000;
  while (done < ctx.opts.soak && Date.now() < deadline) {
    const r = await runWrk(ctx, { url, script, connections: ctx.opts.soakConnections, seconds: 10, env });
    done += r.ok;
    non2xx += r.bad;
    sample();
    const last = samples[samples.length - 1];
    log(`soak: ${done} predictions, RSS ${last.rssMb} MB, ${round(r.ok / (r.durationUs / 1e6), 0)} req/s`);
  }
  const after = await settledRows(ctx, modelId);
  const half = samples.filter((s) => s.predictions >= done / 2);
  const rssValues = samples.map((s) => s.rssMb);
  return {
    connections: ctx.opts.soakConnections,
    predictions: done,
    non2xx,
    successRowsAdded: after.success - before.success,
    seconds: round((Date.now() - started) / 1000, 0),
    rssMb: {
      first: rssValues[0],
      afterWarmup: rssValues[1],
      min: Math.min(...rssValues),
      max: Math.max(...rssValues),
      last: rssValues[rssValues.length - 1],
    },
    secondHalfGrowthMb: half.length > 1 ? round(half[half.length - 1].rssMb - half[0].rssMb) : null,
    samples,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

function markdownTable(results) {
  const lines = [];
  if (results.matrix?.length) {
    lines.push(
      '| scenario | conns | service req/s | bare req/s | ratio | service p50 / p99 ms | bare p50 / p99 ms | p99 ratio | service RSS MB | bare RSS MB | service CPU µs/req (+ Postgres) | webhooks delivered /s (pending at end) | non-2xx | rows == 2xx | floor req/s (CPU µs/req + Postgres) | floor / bare | service / floor |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|');
    for (const r of (results.matrix ?? []).filter((x) => x.service)) {
      const s = r.service;
      const b = r.bare;
      const f = r.floor;
      const floorCells = f
        ? `${f.reqPerSec} (${f.cpuUsPerRequest}${f.dbCpuUsPerRequest != null ? ` + ${f.dbCpuUsPerRequest}` : ''})${f.rows?.ok ? '' : ' NOT OK'} | ${r.floorRatio ?? '–'}× | ${r.serviceVsFloor}×`
        : '– | – | –';
      lines.push(
        `| ${SCENARIOS[r.scenario].label} | ${r.connections} | ${s.reqPerSec} | ${b ? b.reqPerSec : '–'} | ${r.throughputRatio ?? '–'}× | ` +
          `${s.p50Ms} / ${s.p99Ms} | ${b ? `${b.p50Ms} / ${b.p99Ms}` : '–'} | ${r.p99Ratio ?? '–'}× | ${s.rssMb} | ${b ? b.rssMb : '–'} | ` +
          `${s.cpuUsPerRequest}${s.dbCpuUsPerRequest != null ? ` (+ ${s.dbCpuUsPerRequest})` : ''} | ${s.deliveredPerSec ?? '–'} (${s.deliveryBacklog ?? '–'}) | ${s.non2xx} | ${s.rows ? (s.rows.ok ? 'yes' : 'NO') + ` (${s.rows.answered2xx} 2xx, +${s.rows.successRowsAdded} rows)` : '–'} | ${floorCells} |`,
      );
    }
  }
  if (results.batching) {
    const b = results.batching;
    lines.push('');
    lines.push(
      '| dynamic batching, tf-keras-genre14 batch-1, 16 conns | req/s | p50 / p99 ms | CPU µs/req | non-2xx | rows == 2xx |',
    );
    lines.push('|---|---:|---:|---:|---:|---|');
    for (const [k, c] of [
      ['window 0 (off)', b.off],
      ['default window', b.on],
      ['bare server', b.bare],
    ]) {
      if (!c) continue;
      lines.push(
        `| ${k} | ${c.reqPerSec} | ${c.p50Ms} / ${c.p99Ms} | ${c.cpuUsPerRequest} | ${c.non2xx} | ${c.rows ? (c.rows.ok ? 'yes' : 'NO') : '–'} |`,
      );
    }
    lines.push(`| speed-up (default / off) | ${b.speedup}× | | | | |`);
  }
  if (results.soak) {
    const s = results.soak;
    lines.push('');
    lines.push(`| soak, skl-linreg, ${s.connections} conns: predictions | RSS MB |`);
    lines.push('|---:|---:|');
    const step = Math.max(1, Math.floor(s.samples.length / 12));
    s.samples.forEach((x, i) => {
      if (i % step === 0 || i === s.samples.length - 1) lines.push(`| ${x.predictions} | ${x.rssMb} |`);
    });
  }
  if (results.listing?.length) {
    lines.push('');
    lines.push('| listing (limit 20, 1 conn) | rows | p50 ms | p95 ms | p99 ms | req/s | index scan |');
    lines.push('|---|---:|---:|---:|---:|---:|---|');
    for (const l of results.listing) {
      for (const [k, r] of Object.entries(l.routes)) {
        const route = {
          own: 'GET /predictions?modelId=',
          ownDeep: 'GET /predictions?modelId=&cursor=(middle)',
          model: 'GET /models/{id}/predictions',
        }[k];
        lines.push(
          `| ${route} | ${l.rows} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.reqPerSec} | ${l.indexScan[k] ? 'yes' : 'no'} |`,
        );
      }
    }
  }
  if (results.targets?.length) {
    lines.push('');
    lines.push('| target (issue 7) | this run | met |');
    lines.push('|---|---|---|');
    for (const t of results.targets) lines.push(`| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

/** The issue's targets (ratios in one run; reported, never asserted). */
function targetChecks(results) {
  const out = [];
  const cell = (scenario, connections) =>
    (results.matrix ?? []).find((r) => r.scenario === scenario && r.connections === connections && r.bare);
  const lin = cell('skl-linreg', 64);
  if (lin) {
    out.push({
      target: 'skl-linreg @64: service ≥ 0.35× bare req/s',
      value: lin.throughputRatio,
      met: lin.throughputRatio >= 0.35,
    });
    out.push({ target: 'skl-linreg @64: p99 ≤ 4× bare p99', value: lin.p99Ratio, met: lin.p99Ratio <= 4 });
    out.push({
      target: 'skl-linreg @64: zero non-2xx',
      value: lin.service.non2xx,
      met: lin.service.non2xx === 0,
    });
    out.push({
      target: 'skl-linreg @64: rows == 2xx',
      value: lin.service.rowsCheck,
      met: Boolean(lin.service.rows?.ok),
    });
  }
  const mnist = cell('pt-mnist-mlp', 16);
  if (mnist)
    out.push({
      target: 'pt-mnist-mlp @16: service ≥ 0.25× bare req/s',
      value: mnist.throughputRatio,
      met: mnist.throughputRatio >= 0.25,
    });
  if (results.batching) {
    out.push({
      target: 'tf-keras-genre14 batch-1 @16: batching ≥ 2× without',
      value: results.batching.speedup,
      met: results.batching.speedup >= 2,
    });
  }
  const rowsOk = [
    ...(results.matrix ?? []).map((r) => r.service),
    results.batching?.on,
    results.batching?.off,
  ]
    .filter(Boolean)
    .every((c) => c.rows?.ok);
  out.push({
    target: 'every service cell: each 2xx id is a durable success row, no non-2xx',
    value: rowsOk,
    met: rowsOk,
  });
  return out;
}

function updateReadme(results, table) {
  const file = path.join(__dirname, 'README.md');
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  const start = '<!-- bench:latest:start -->';
  const end = '<!-- bench:latest:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) return;
  const m = results.machine;
  let block =
    `${start}\n_Run ${results.date} (${results.label || 'default options'}), commit ${results.commit}, ${m.cpus} × ${m.cpuModel}, ` +
    `WEB_CONCURRENCY=${results.options.workers}, WEBHOOK_WORKERS=${results.options.webhookWorkers}, wrk -t1, ${results.options.warmup} s warm-up + ${results.options.duration} s per cell; ` +
    `machine busy ${m.busyPctDuringRun}% on average during the run, load average before ${m.loadAvgBefore.join(' ')}` +
    (results.loopback
      ? `; a loopback TCP round trip (\`bench/loopback.js\`) ${results.loopback.rttUs} µs, ` +
        `${results.loopback.clientCpuUs} + ${results.loopback.serverCpuUs} µs of CPU`
      : '') +
    `. Raw figures: \`bench/results/${path.basename(results.file)}\`._\n\n${table}\n`;
  if (results.listing?.length) {
    const big = results.listing[results.listing.length - 1];
    block += `\n\`EXPLAIN (ANALYZE)\` of \`GET /predictions?modelId=\` at ${big.rows} rows (first page, then a page from the middle):\n\n\`\`\`\n${big.plans.own}\n\n${big.plans.ownDeep}\n\`\`\`\n`;
  }
  fs.writeFileSync(file, text.slice(0, i) + block + text.slice(j));
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  if (opts.build) build();
  ensureWrk();
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\..*/, '')
    .replace('T', '_')
    .toLowerCase();
  const dbName = `modelport_bench_${stamp}_${process.pid}`;
  const adminUrl = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelport-bench-'));
  const ctx = {
    opts,
    tmp,
    databaseUrl,
    redisPrefix: `mpbench${stamp}${process.pid}`,
    storageDir: path.join(tmp, 'storage'),
    bodies: {},
  };
  fs.mkdirSync(ctx.storageDir);
  for (const scenario of Object.keys(SCENARIOS)) ctx.bodies[scenario] = writeBody(tmp, scenario);
  const machine0 = machineCpu();
  const loadBefore = loadAvg();
  ctx.sink = await startSink();
  const cleanup = [];
  try {
    log(
      `database ${dbName}, service: ${opts.workers} API and ${opts.webhookWorkers} webhook workers, dist ${DIST}`,
    );
    ctx.service = { ...(await startService(ctx)), kind: 'service' };
    cleanup.push(() => stopProcess(ctx.service.child));
    ctx.db = new Client({ connectionString: databaseUrl });
    await ctx.db.connect();
    ctx.setup = await setUp(ctx, ctx.service);
    log(
      `auth: ${ctx.setup.auth.kind}; models: ${Object.keys(ctx.setup.models).join(', ')}; webhook: ${ctx.setup.webhook ? 'yes' : 'no'}`,
    );
    if (opts.bare && (opts.models.length || opts.batching)) {
      // The bare server serves each scenario id with its model, so the same wrk script works against both.
      const spec = Object.fromEntries(Object.entries(SCENARIOS).map(([id, s]) => [id, s.model]));
      ctx.bare = { ...(await startBare(ctx, spec)), kind: 'bare' };
      cleanup.push(() => stopProcess(ctx.bare.child));
      if (opts.floor && opts.models.length && ctx.setup.webhook) {
        // The same server keeping the two promises as cheaply as it can (bench/floor.js): an upper bound for the service.
        const [hook] = (
          await ctx.db.query('select max_retries + 1 as "maxAttempts" from webhooks where id = $1', [
            ctx.setup.webhook,
          ])
        ).rows;
        ctx.floor = {
          ...(await startBare(ctx, spec, {
            BARE_DATABASE_URL: databaseUrl,
            BARE_WEBHOOK_URL: `${ctx.sink.url}?floor=1`,
            BARE_FLOOR_KIND: opts.floorKind,
            BARE_FLOOR_IDS: JSON.stringify({
              models: Object.fromEntries(
                Object.keys(spec)
                  .filter((id) => ctx.setup.models[SCENARIOS[id].model])
                  .map((id) => [id, ctx.setup.models[SCENARIOS[id].model]]),
              ),
              userId: ctx.setup.auth.userId,
              webhookId: ctx.setup.webhook,
              maxAttempts: hook.maxAttempts,
            }),
          })),
          kind: 'floor',
          floorKind: opts.floorKind,
        };
        cleanup.push(() => stopProcess(ctx.floor.child));
      }
    }
    const results = {
      date: new Date().toISOString(),
      label: opts.label,
      commit: gitCommit(),
      options: { ...opts, env: opts.env },
      auth: ctx.setup.auth.kind,
      webhook: Boolean(ctx.setup.webhook),
    };
    // What one loopback message costs this machine (bench/loopback.js): the unit every hop of a prediction pays.
    results.loopback = await measureLoopback();
    log(
      `loopback TCP round trip: ${results.loopback.rttUs} µs, CPU ${results.loopback.clientCpuUs} + ` +
        `${results.loopback.serverCpuUs} µs (the two sides)`,
    );
    if (opts.models.length) results.matrix = await runMatrix(ctx);
    if (opts.batching) results.batching = await runBatching(ctx);
    if (opts.listing.length) {
      try {
        results.listing = await runListing(ctx);
      } catch (err) {
        results.listingError = String(err);
        log(`listing failed: ${err}`);
      }
    }
    if (opts.soak) results.soak = await runSoak(ctx);
    // Webhook deliveries are asynchronous (outbox → queue → HTTP); report what arrived, do not wait for all.
    await sleep(1000);
    results.webhookDeliveries = { received: ctx.sink.counts.total, byType: ctx.sink.counts.byType };
    const machine1 = machineCpu();
    results.machine = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model?.trim(),
      node: process.version,
      loadAvgBefore: loadBefore,
      loadAvgAfter: loadAvg(),
      busyPctDuringRun: round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100, 0),
    };
    results.totalSeconds = round((Date.now() - started) / 1000, 0);
    const day = new Date().toISOString().slice(0, 10);
    const file =
      opts.out ??
      path.join(
        __dirname,
        'results',
        `${day}${opts.soak ? '-soak' : ''}${opts.readme ? '' : `-${stamp}`}.json`,
      );
    results.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    results.targets = targetChecks(results);
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    const table = markdownTable(results);
    console.log(`\n${table}\n`);
    for (const t of results.targets) console.log(`${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.value}`);
    for (const r of (results.matrix ?? []).filter((x) => x.floor && x.bare)) {
      console.log(
        `floor    ${r.scenario} @${r.connections}: ${r.floor.reqPerSec} req/s = ${r.floorRatio}× bare; service = ${r.serviceVsFloor}× floor`,
      );
    }
    if (results.soak) {
      const s = results.soak;
      console.log(
        `soak: ${s.predictions} predictions in ${s.seconds} s, non-2xx ${s.non2xx}, rows +${s.successRowsAdded}; RSS MB first ${s.rssMb.first}, after warm-up ${s.rssMb.afterWarmup}, max ${s.rssMb.max}, last ${s.rssMb.last}; second-half growth ${s.secondHalfGrowthMb} MB`,
      );
    }
    console.log(`webhook deliveries received by the sink: ${results.webhookDeliveries.received}`);
    console.log(
      `machine busy ${results.machine.busyPctDuringRun}% during the run; total ${results.totalSeconds} s; results in ${path.relative(ROOT, file)}`,
    );
    if (opts.readme) updateReadme(results, table);
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    ctx.sink.server.close();
    if (ctx.db) await ctx.db.end().catch(() => undefined);
    if (!opts.keepDb)
      await dropDatabase(adminUrl, dbName).catch((e) => log(`could not drop ${dbName}: ${e.message}`));
    await clearRedis(ctx.redisPrefix).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return 'unknown';
  }
}

async function dropDatabase(adminUrl, name) {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await c.end();
  }
}

async function clearRedis(prefix) {
  const Redis = require(require.resolve('ioredis', { paths: [ROOT] }));
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
