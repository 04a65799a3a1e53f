#!/usr/bin/env node
'use strict';

/**
 * The physical limit the service is compared with: a bare `node:http` server that does only what a prediction
 * must do — parse the JSON body, walk the nested arrays straight into a Float32Array, `session.run`, turn the
 * outputs back into nested arrays and answer 201 with the same JSON shape as `POST /api/v1/models/{id}/predictions`
 * (id, modelId, userId, status, input, output, inferenceTimeMs, errorMessage, createdAt). No framework, no auth,
 * no database.
 *
 * Usage: BARE_MODELS='{"<id>":"/path/model.onnx",...}' PORT=0 node bench/bare-server.js
 * With BARE_DATABASE_URL (a database migrated by the service) and BARE_WEBHOOK_URL it is the bench's "floor": each
 * prediction's row is also made durable before the answer and its webhook delivered (bench/floor.js); GET
 * /floor/stats then reports rows committed and webhooks delivered, failed and pending. BARE_FLOOR_KIND=ledger (with
 * BARE_FLOOR_IDS) also records each delivery and its outcome (see floor.js).
 * Routes: POST /api/v1/models/<id>/predictions. Prints `listening <port>` on stdout once every model is loaded.
 * Sessions use the service's settings (INFERENCE_INTRA_OP_THREADS, else min(2, cpus); sequential; all optimizations;
 * no spinning).
 */
const http = require('node:http');
const os = require('node:os');
const { randomUUID } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { InferenceSession, Tensor } = require('onnxruntime-node');

const intraOp = Number(process.env.INFERENCE_INTRA_OP_THREADS) || Math.max(1, Math.min(2, os.cpus().length));
const models = new Map();

async function load(id, file) {
  const session = await InferenceSession.create(file, {
    intraOpNumThreads: intraOp,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
    // Same as the service: idle intra-op threads sleep instead of spinning (BARE_ALLOW_SPINNING=1 to compare).
    extra: { session: { intra_op: { allow_spinning: process.env.BARE_ALLOW_SPINNING === '1' ? '1' : '0' } } },
  });
  // Each bench model has one float32 input; a declared leading 1 means "run row by row".
  const name = session.inputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata.find?.((m) => m.name === name) : undefined;
  const shape = meta && Array.isArray(meta.shape) ? meta.shape : [];
  models.set(id, {
    session,
    input: name,
    batchOfOne: shape[0] === 1,
    outputs: session.outputNames,
    // The floor's rows name the service's model (its `ledger` kind keeps the foreign key), else a made-up id.
    rowModelId: FLOOR_MODEL_IDS[id] ?? randomUUID(),
  });
}

/** Shape by following the first element, then a second walk into one preallocated Float32Array. */
function encode(value) {
  const dims = [];
  for (let node = value; Array.isArray(node); node = node[0]) {
    dims.push(node.length);
    if (node.length === 0) throw new Error('empty array');
  }
  let size = 1;
  for (const d of dims) size *= d;
  const data = new Float32Array(size);
  let offset = 0;
  const visit = (node, depth) => {
    if (depth === dims.length) {
      if (typeof node !== 'number') throw new Error('not a number');
      data[offset++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) throw new Error('ragged array');
    for (let i = 0; i < node.length; i++) visit(node[i], depth + 1);
  };
  visit(value, 0);
  return { data, dims };
}

function decode(data, dims, start = 0) {
  if (dims.length === 0) return data[start];
  let offset = start;
  const build = (depth) => {
    const out = new Array(dims[depth]);
    for (let i = 0; i < out.length; i++)
      out[i] = depth === dims.length - 1 ? data[offset++] : build(depth + 1);
    return out;
  };
  return build(0);
}

async function predict(model, input) {
  const value = Array.isArray(input) ? input : input[model.input];
  const { data, dims } = encode(value);
  const rows = model.batchOfOne ? dims[0] : 1;
  const output = {};
  for (const name of model.outputs) output[name] = [];
  const rowSize = data.length / dims[0];
  for (let r = 0; r < rows; r++) {
    const feed = model.batchOfOne
      ? new Tensor('float32', data.subarray(r * rowSize, (r + 1) * rowSize), [1, ...dims.slice(1)])
      : new Tensor('float32', data, dims);
    const results = await model.session.run({ [model.input]: feed });
    for (const name of model.outputs) {
      const t = results[name];
      const nested = decode(t.data, t.dims);
      if (model.batchOfOne) output[name].push(...nested);
      else output[name] = nested;
    }
  }
  return output;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

const ROUTE = /^\/api\/v1\/models\/([^/]+)\/predictions$/;

/** The input's JSON text as sent, when the body is `{"input": …}` (as the bench's are); else made again. */
function inputText(text, input) {
  const m = /^\s*\{\s*"input"\s*:/.exec(text);
  const end = text.lastIndexOf('}');
  return m && end > m[0].length ? text.slice(m[0].length, end) : JSON.stringify(input);
}

// Set by main() when BARE_DATABASE_URL is given: the "floor" (bench/floor.js).
let floor = null;

const server = http.createServer((req, res) => {
  if (floor && req.method === 'GET' && req.url === '/floor/stats') {
    send(res, 200, floor.stats);
    return;
  }
  const match = req.method === 'POST' ? ROUTE.exec(req.url) : null;
  const model = match ? models.get(match[1]) : undefined;
  if (!model) {
    req.resume();
    send(res, 404, { statusCode: 404, error: 'Not Found', message: 'no such model' });
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    let text;
    try {
      text = Buffer.concat(chunks).toString('utf8');
      body = JSON.parse(text);
    } catch {
      send(res, 400, { statusCode: 400, error: 'Bad Request', message: 'malformed JSON' });
      return;
    }
    const started = performance.now();
    const fail = (err) =>
      send(res, 400, { statusCode: 400, error: 'Bad Request', message: String(err.message || err) });
    predict(model, body.input).then((output) => {
      const inferenceTimeMs = Math.ceil(performance.now() - started);
      if (!floor) {
        send(res, 201, {
          id: randomUUID(),
          modelId: match[1],
          userId: 'bare',
          status: 'success',
          input: body.input,
          output,
          inferenceTimeMs,
          errorMessage: null,
          createdAt: new Date(),
        });
        return;
      }
      // The floor: the row is durable before the answer, which is put together from the row's JSON texts.
      const row = {
        id: floor.newId(),
        modelId: model.rowModelId,
        inputJson: inputText(text, body.input),
        outputJson: JSON.stringify(output),
        timeMs: inferenceTimeMs,
        createdAt: new Date(),
      };
      floor.record(row).then(() => {
        const answer =
          `{"id":"${row.id}","modelId":"${match[1]}","userId":"floor","status":"success","input":${row.inputJson},` +
          `"output":${row.outputJson},"inferenceTimeMs":${row.timeMs},"errorMessage":null,"createdAt":` +
          `${JSON.stringify(row.createdAt)}}`;
        res.writeHead(201, {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(answer),
        });
        res.end(answer);
      }, fail);
    }, fail);
  });
});
server.keepAliveTimeout = 65_000;

/** BARE_FLOOR_IDS: {"models": {routeId: serviceModelId}, "userId", "webhookId", "maxAttempts"} (bench/floor.js). */
const FLOOR_IDS = JSON.parse(process.env.BARE_FLOOR_IDS || '{}');
const FLOOR_MODEL_IDS = FLOOR_IDS.models ?? {};

async function main() {
  const spec = JSON.parse(process.env.BARE_MODELS || '{}');
  for (const [id, file] of Object.entries(spec)) await load(id, file);
  if (process.env.BARE_DATABASE_URL) {
    floor = await require('./floor').createFloor({
      databaseUrl: process.env.BARE_DATABASE_URL,
      webhookUrl: process.env.BARE_WEBHOOK_URL,
      kind: process.env.BARE_FLOOR_KIND || 'minimal',
      ids: FLOOR_IDS,
    });
  }
  server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
}

process.on('SIGTERM', () => server.close(() => process.exit(0)));
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
