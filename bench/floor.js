'use strict';

/**
 * The least any implementation of the product must add to the bare server for each prediction, done as cheaply as
 * this bench knows how: its row made durable before the answer (an adaptive group commit into a copy of the
 * `predictions` table), and its `prediction.success` webhook signed (Standard Webhooks, HMAC-SHA256) and POSTed to
 * the receiver over kept-alive connections. bare-server.js loads it when BARE_DATABASE_URL is set; the bench calls
 * that server "floor".
 *
 * Everything else the service does is left out, so the floor's throughput is an upper bound for the service on
 * the same machine: no authentication, throttle, permission or schema checks, no queue, no retries, no metrics.
 * What the floor/bare ratio says is how far below the bare server any service that keeps the two promises (a
 * recorded prediction, a delivered webhook) must stay.
 *
 * Two kinds (session 7):
 * - `ledger` (the bench's default): the webhook promise kept durably, as the product requires. The delivery is
 *   recorded in the same statement as the prediction (a pending row in a copy of `webhook_deliveries`, the outbox
 *   that lets a crash lose nothing), and its outcome is written back after the attempt (one UPDATE per 10 ms of
 *   outcomes, as the service batches them); both copies keep the service's foreign keys (to the bench's real
 *   model, user and webhook rows), whose checks Postgres runs on every row.
 * - `minimal` (session 6's floor, `--floor-kind minimal`): the webhook is sent from memory once the row has
 *   committed, with nothing written about it, so a crash between commit and send loses it. Below what any
 *   implementation of the product may do; kept to compare with session 6's figures.
 */
const http = require('node:http');
const { createHmac, randomUUID } = require('node:crypto');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const { Client } = require(require.resolve('pg', { paths: [ROOT] }));

const TABLE = 'bench_floor_predictions';
const DELIVERIES = 'bench_floor_deliveries';
const COLUMNS =
  'id, model_id, user_id, input_data, output_data, inference_time_ms, status, error_message, created_at';
/** Same rule as the service (PredictionsRepository): inputs up to 16 KB go as arrays of one prepared statement. */
const ARRAY_INPUT_MAX_CHARS = 16 * 1024;
const MAX_ROWS = 500;

/** The predictions rows of a batch, from the nine column arrays $1–$9 of `statement`. */
const INSERT_PREDICTIONS =
  `insert into ${TABLE} (${COLUMNS}) select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], ` +
  '$4::json[], $5::jsonb[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])';

/** Outcomes of attempts are written together over this many milliseconds (the service's OUTCOME_WINDOW_MS). */
const OUTCOME_WINDOW_MS = 10;

/**
 * `ledger` (see above) needs the service's rows to point at: `ids` = {userId, webhookId, maxAttempts}; the models'
 * ids come with each row.
 */
async function createFloor({ databaseUrl, webhookUrl, concurrency = 64, kind = 'minimal', ids = {} }) {
  const ledger = kind === 'ledger';
  // The service's own time-ordered ids (src/common/uuid7.ts), as it gives predictions and deliveries: random v4 keys
  // would cost the floor a random primary-key leaf per row that the service does not pay. The bench builds dist/
  // before any server starts.
  const { uuid7 } = require(path.join(ROOT, 'dist', 'src', 'common', 'uuid7'));
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  // Outcomes on a connection of their own, as the service's pool would: they never wait behind a commit.
  const outcomesDb = ledger ? new Client({ connectionString: databaseUrl }) : null;
  if (outcomesDb) await outcomesDb.connect();
  // The service's own tables: columns, defaults, storage parameters, compression and indexes; `ledger` adds the
  // service's foreign keys.
  await db.query(`drop table if exists ${TABLE}, ${DELIVERIES}`);
  await db.query(`create table ${TABLE} (like predictions including all)`);
  if (ledger) {
    await db.query(`create table ${DELIVERIES} (like webhook_deliveries including all)`);
    await db.query(
      `alter table ${TABLE} add foreign key (model_id) references models (id) on update cascade on delete cascade,
                            add foreign key (user_id) references users (id) on update cascade on delete cascade`,
    );
    await db.query(
      `alter table ${DELIVERIES}
         add foreign key (webhook_id) references webhooks (id) on update cascade on delete cascade`,
    );
  }
  // LIKE copies no table storage parameters (the deliveries' fillfactor): copy those too.
  for (const [copy, source] of ledger
    ? [
        [TABLE, 'predictions'],
        [DELIVERIES, 'webhook_deliveries'],
      ]
    : [[TABLE, 'predictions']]) {
    const { rows } = await db.query(
      `select array_to_string(reloptions, ', ') as options from pg_class
        where relname = $1 and relnamespace = 'public'::regnamespace`,
      [source],
    );
    if (rows[0]?.options) await db.query(`alter table ${copy} set (${rows[0].options})`);
  }
  const userId = ledger ? ids.userId : randomUUID();
  const secret = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  const target = webhookUrl ? new URL(webhookUrl) : null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  // pending: webhooks not yet sent, plus (ledger) outcomes not yet written.
  const stats = {
    kind,
    committed: 0,
    delivered: 0,
    failed: 0,
    pending: 0,
    outcomesWritten: 0,
    outcomesFailed: 0,
  };

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
    if (ledger) {
      // The prediction rows and their pending, claimed deliveries in one statement: atomic without BEGIN/COMMIT.
      return {
        name: 'floor.group-commit.ledger',
        text:
          `with p as (${INSERT_PREDICTIONS}) insert into ${DELIVERIES} (id, webhook_id, event_id, event_type, payload, max_attempts, queued_at) ` +
          "select d.id, $10::uuid, d.event_id, 'prediction.success', d.payload, $11::int, now() " +
          'from unnest($12::uuid[], $13::uuid[], $14::jsonb[]) as d(id, event_id, payload)',
        values: [
          ...columns,
          ids.webhookId,
          ids.maxAttempts ?? 1,
          rows.map((r) => r.delivery.id),
          rows.map((r) => r.delivery.eventId),
          rows.map((r) => r.delivery.body),
        ],
      };
    }
    if (rows.every((r) => r.inputJson.length <= ARRAY_INPUT_MAX_CHARS)) {
      return { name: 'floor.group-commit', text: INSERT_PREDICTIONS, values: columns };
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
    if (ledger) for (const b of batch) b.row.delivery = delivery(b.row);
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

  /** The event's id and body (the same bytes are recorded, in `ledger`, and sent). */
  function delivery(row) {
    const body =
      `{"type":"prediction.success","timestamp":${JSON.stringify(row.createdAt.toISOString())},"data":` +
      `{"predictionId":"${row.id}","modelId":"${row.modelId}","userId":"${userId}","status":"success",` +
      `"output":${row.outputJson},"inferenceTimeMs":${row.timeMs},"createdAt":${JSON.stringify(row.createdAt)}}}`;
    return { id: uuid7(), eventId: randomUUID(), body };
  }

  // ---- `ledger`: each attempt's outcome written back, those of OUTCOME_WINDOW_MS in one UPDATE
  let outcomes = [];
  let outcomeTimer = null;
  let outcomeWrite = Promise.resolve();

  function recordOutcome(row, status, sentAt) {
    outcomes.push({ id: row.delivery.id, status, sentAt, ms: Date.now() - sentAt.getTime() });
    stats.pending++;
    if (outcomeTimer) return;
    outcomeTimer = setTimeout(() => {
      outcomeTimer = null;
      const batch = outcomes;
      outcomes = [];
      outcomeWrite = outcomeWrite.then(() =>
        outcomesDb
          .query({
            name: 'floor.outcomes',
            text: `update ${DELIVERIES} d set status = case when v.status between 200 and 299 then 'success' else 'failed' end,
                  attempts = 1, last_attempt_at = v.sent_at, response_status = v.status, duration_ms = v.ms,
                  completed_at = now(), updated_at = now()
                from unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::int[]) as v(id, status, sent_at, ms)
               where d.id = v.id`,
            values: [
              batch.map((o) => o.id),
              batch.map((o) => o.status),
              batch.map((o) => o.sentAt.toISOString()),
              batch.map((o) => o.ms),
            ],
          })
          .then(
            () => (stats.outcomesWritten += batch.length),
            () => (stats.outcomesFailed += batch.length),
          )
          .finally(() => (stats.pending -= batch.length)),
      );
    }, OUTCOME_WINDOW_MS);
  }

  function send(row, done) {
    const { eventId, body } = row.delivery ?? delivery(row);
    const sentAt = new Date();
    const timestamp = Math.floor(sentAt.getTime() / 1000);
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
          if (ledger) recordOutcome(row, res.statusCode, sentAt);
          done();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      stats.failed++;
      if (ledger) recordOutcome(row, null, sentAt);
      done();
    });
    req.end(body);
  }

  return {
    stats,
    /** Resolves once the prediction's row has committed; its webhook is sent after that. */
    /** A new row's id (time-ordered, as the service's). */
    newId: uuid7,
    record(row) {
      return new Promise((resolve, reject) => {
        queue.push({ row, resolve, reject });
        schedule();
      });
    },
    close: async () => {
      await outcomeWrite;
      await db.end();
      await outcomesDb?.end();
    },
  };
}

module.exports = { createFloor, FLOOR_TABLE: TABLE, FLOOR_DELIVERIES: DELIVERIES };
