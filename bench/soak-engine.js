#!/usr/bin/env node
'use strict';

/**
 * `node bench/soak-engine.js [N]`: N predictions (default 1,000,000) straight through the service's inference
 * provider (dist/src/inference/onnx-runtime.provider.js) — JSON-shaped input → tensors → session.run → JSON-shaped
 * output, 16 at a time with dynamic batching on, alternating skl-linreg (batch-of-1 model) and tf-keras-mlp9
 * (dynamic batch) — sampling RSS and the V8 heap every N/20 predictions. It isolates the engine (native ORT
 * memory, tensors, the session cache, batching) from HTTP and the database, which `npm run bench -- --soak N`
 * covers at a smaller N.
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(ROOT, 'dist');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
require(require.resolve('reflect-metadata', { paths: [ROOT] }));
const { OnnxRuntimeProvider } = require(path.join(DIST, 'src/inference/onnx-runtime.provider.js'));

const total = Number(process.argv[2] || 1_000_000);
const provider = new OnnxRuntimeProvider(
  {
    sessionCacheMaxCount: 32,
    sessionCacheMaxBytes: 512 * 1024 * 1024,
    intraOpThreads: 1,
    timeoutMs: 30_000,
    batchWindowMs: 2,
    batchMaxRows: 64,
  },
  { jsonBodyBytes: 2 * 1024 * 1024, uploadBytes: 100 * 1024 * 1024, inputElements: 1_000_000 },
);
const models = [
  {
    model: { id: 'linreg', filePath: path.join(FIXTURES, 'skl-linreg', 'model.onnx') },
    input: () => [[Math.random(), 1, 2, 3]],
  },
  {
    model: { id: 'mlp9', filePath: path.join(FIXTURES, 'tf-keras-mlp9', 'model.onnx') },
    input: () => [[Math.random(), 0.5]],
  },
];

const mb = (n) => Math.round((n / 1024 / 1024) * 10) / 10;
async function main() {
  const started = Date.now();
  const samples = [];
  const sample = (done) => {
    const m = process.memoryUsage();
    samples.push({
      predictions: done,
      rssMb: mb(m.rss),
      heapUsedMb: mb(m.heapUsed),
      externalMb: mb(m.external),
      seconds: Math.round((Date.now() - started) / 1000),
    });
    const s = samples[samples.length - 1];
    console.log(
      `${String(done).padStart(8)} predictions  RSS ${s.rssMb} MB  heap ${s.heapUsedMb} MB  external ${s.externalMb} MB  ${s.seconds} s`,
    );
  };
  let done = 0;
  let completed = 0;
  const every = Math.max(1000, Math.floor(total / 20));
  sample(0);
  const worker = async (k) => {
    while (done < total) {
      const { model, input } = models[(done + k) % models.length];
      done++;
      await provider.predict(model, input());
      completed++;
      if (completed % every === 0 && completed < total) sample(completed);
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, k) => worker(k)));
  sample(completed);
  provider.onModuleDestroy();
  const after = samples.slice(Math.floor(samples.length / 4));
  const growth = after[after.length - 1].rssMb - after[0].rssMb;
  console.log(
    `RSS from 25% to 100% of the run: ${after[0].rssMb} → ${after[after.length - 1].rssMb} MB (${growth >= 0 ? '+' : ''}${Math.round(growth * 10) / 10} MB); stats ${JSON.stringify(provider.stats())}`,
  );
  if (process.argv.includes('--json')) console.log(JSON.stringify(samples));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
