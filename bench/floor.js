'use strict';

/**
 * The least any implementation of the product must add to the bare server for each prediction, done as cheaply as
 * this bench knows how: its row made durable before the answer (an adaptive group commit into a copy of the
 * `predictions` table), and its `prediction.success` webhook signed (Standard Webhooks, HMAC-SHA256) and POSTed to
 * the receiver over kept-alive connections. bare-server.js loads it when BARE_DATABASE_URL is set; the bench calls
 * that server "floor".
 *
 * Everything else the service does is left out, so the floor's throughput is an upper bound for the service on
 * the same machine: no authentication, throttle, permission or schema checks, no delivery record (an attempt is
 * neither written down nor retried), no queue, no metrics. What the floor/bare ratio says is how far below the
 * bare server any service that keeps the two promises (a recorded prediction, a delivered webhook) must stay.
 */
const http = require('node:http');
const { createHmac, randomUUID } = require('node:crypto');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));

const TABLE = 'bench_floor_predictions';
const COLUMNS =
  'id, model_id, user_id, input_data, output_data, inference_time_ms, status, error_message, created_at';
/** Same rule as the service (PredictionsRepository): inputs up to 16 KB go as arrays of one prepared statement. */
const ARRAY_INPUT_MAX_CHARS = 16 * 1024;
const MAX_ROWS = 500;

async function createFloor({ databaseUrl, webhookUrl, concurrency = 64 }) {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  // The service's own table, columns, defaults, compression and indexes (not its foreign keys).
  await db.query(`create table if not exists ${TABLE} (like predictions including all)`);
  const userId = randomUUID();
  const secret = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  const target = webhookUrl ? new URL(webhookUrl) : null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const stats = { committed: 0, delivered: 0, failed: 0, pending: 0 };

  // ---- group commit: flush on the next turn when idle, otherwise the rows that came meanwhile form the next batch
  let queue = [];
  let inFlight = false;
  let scheduled = false;

  function schedule() {
    if (inFlight || scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      void flush();
    });
  }

  function statement(rows) {
    const columns = [[], [], [], [], [], [], [], [], []];
    for (const r of rows) {
      const values = [
        r.id,
        r.modelId,
        userId,
        r.inputJson,
        r.outputJson,
        r.timeMs,
        'success',
        null,
        r.createdAt,
      ];
      values.forEach((v, i) => columns[i].push(v));
    }
    if (rows.every((r) => r.inputJson.length <= ARRAY_INPUT_MAX_CHARS)) {
      return {
        name: 'floor.group-commit',
        text:
          `insert into ${TABLE} (${COLUMNS}) select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], ` +
          '$4::json[], $5::jsonb[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])',
        values: columns,
      };
    }
    const values = [];
    const tuples = rows.map((_, row) => {
      const first = values.length;
      for (const column of columns) values.push(column[row]);
      const p = columns.map((_c, i) => `$${first + i + 1}`);
      return `(${p[0]}::uuid, ${p[1]}::uuid, ${p[2]}::uuid, ${p[3]}::json, ${p[4]}::jsonb, ${p[5]}::int, ${p[6]}, ${p[7]}, ${p[8]}::timestamptz)`;
    });
    return { text: `insert into ${TABLE} (${COLUMNS}) values ${tuples.join(', ')}`, values };
  }

  async function flush() {
    inFlight = true;
    const batch = queue.splice(0, MAX_ROWS);
    try {
      await db.query(statement(batch.map((b) => b.row)));
      stats.committed += batch.length;
      for (const b of batch) {
        b.resolve();
        if (target) deliver(b.row);
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      inFlight = false;
      schedule();
    }
  }

  // ---- webhooks: at most `concurrency` requests in flight, the rest wait in memory (the row is the record)
  const waiting = [];
  let sending = 0;

  function deliver(row) {
    stats.pending++;
    waiting.push(row);
    pump();
  }

  function pump() {
    while (sending < concurrency && waiting.length > 0) {
      sending++;
      send(waiting.shift(), () => {
        sending--;
        stats.pending--;
        pump();
      });
    }
  }

  function send(row, done) {
    const eventId = randomUUID();
    const timestamp = Math.floor(Date.now() / 1000);
    const body =
      `{"type":"prediction.success","timestamp":${JSON.stringify(row.createdAt.toISOString())},"data":` +
      `{"predictionId":"${row.id}","modelId":"${row.modelId}","userId":"${userId}","status":"success",` +
      `"output":${row.outputJson},"inferenceTimeMs":${row.timeMs},"createdAt":${JSON.stringify(row.createdAt)}}}`;
    const signature = createHmac('sha256', secret).update(`${eventId}.${timestamp}.${body}`).digest('base64');
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'webhook-id': eventId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': `v1,${signature}`,
        },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode >= 200 && res.statusCode < 300) stats.delivered++;
          else stats.failed++;
          done();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      stats.failed++;
      done();
    });
    req.end(body);
  }

  return {
    stats,
    /** Resolves once the prediction's row has committed; its webhook is sent after that. */
    record(row) {
      return new Promise((resolve, reject) => {
        queue.push({ row, resolve, reject });
        schedule();
      });
    },
    close: () => db.end(),
  };
}

module.exports = { createFloor, FLOOR_TABLE: TABLE };
