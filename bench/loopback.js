'use strict';

/**
 * What one message over loopback TCP costs on this machine: a client and a server process play ping-pong with a
 * 100-byte message (`TCP_NODELAY`, one write and one read per message on each side) and report the round trip and
 * the CPU each side spent per round trip. Every hop a prediction makes (wrk → service → Postgres, Redis, the
 * webhook receiver and back) pays this on both sides, whatever the code around it does, so it is the unit the
 * service's costs are best read in on a given machine (session 7 found it ≈55 µs a side on this VM).
 *
 * `node bench/loopback.js [round trips]` prints the figures; `npm run bench` runs it first and keeps them in the
 * results.
 */
const net = require('node:net');
const { fork } = require('node:child_process');

const SIZE = 100;

function cpuMicros(usage) {
  return usage.user + usage.system;
}

/** Runs `roundTrips` ping-pongs against a forked echo server; resolves with µs per round trip. */
function measureLoopback(roundTrips = 20_000) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('message', ({ port }) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.setNoDelay(true);
        const message = Buffer.alloc(SIZE, 97);
        let received = 0;
        let done = 0;
        let started = 0n;
        let cpu0 = null;
        const warmup = Math.min(1000, Math.floor(roundTrips / 10));
        socket.on('data', (data) => {
          received += data.length;
          while (received >= SIZE) {
            received -= SIZE;
            done++;
            if (done === warmup) {
              child.send('mark');
              started = process.hrtime.bigint();
              cpu0 = process.cpuUsage();
            }
            if (done === warmup + roundTrips) {
              const wallUs = Number(process.hrtime.bigint() - started) / 1e3;
              const client = cpuMicros(process.cpuUsage(cpu0));
              child.once('message', ({ serverCpuUs }) => {
                socket.destroy();
                child.kill();
                resolve({
                  roundTrips,
                  messageBytes: SIZE,
                  rttUs: round(wallUs / roundTrips),
                  clientCpuUs: round(client / roundTrips),
                  serverCpuUs: round(serverCpuUs / roundTrips),
                });
              });
              child.send('report');
              return;
            }
            socket.write(message);
          }
        });
        socket.on('error', reject);
        socket.write(message);
      });
    });
  });
}

function round(x) {
  return Math.round(x * 10) / 10;
}

if (process.argv[2] === '--serve') {
  let cpu0 = process.cpuUsage();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
    socket.on('error', () => undefined);
  });
  process.on('message', (what) => {
    if (what === 'mark') cpu0 = process.cpuUsage();
    if (what === 'report') process.send({ serverCpuUs: cpuMicros(process.cpuUsage(cpu0)) });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else if (require.main === module) {
  measureLoopback(Number(process.argv[2]) || 20_000).then(
    (r) =>
      console.log(
        `loopback TCP, ${r.messageBytes}-byte ping-pong, ${r.roundTrips} round trips: ${r.rttUs} µs a round trip, ` +
          `CPU ${r.clientCpuUs} µs (client) + ${r.serverCpuUs} µs (server) per round trip`,
      ),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

module.exports = { measureLoopback };
