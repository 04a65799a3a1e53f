import { alive, NpmStart } from './support/npm-start';

/**
 * `npm start` with WEB_CONCURRENCY=2: the primary prepares the database once and forks two workers on one port,
 * replaces a worker that dies, and stops them all on SIGTERM.
 */
jest.setTimeout(240_000);

describe('npm start with WEB_CONCURRENCY=2 (node:cluster)', () => {
  const service = new NpmStart();

  beforeAll(async () => {
    await service.start({ WEB_CONCURRENCY: '2' });
    await service.waitFor(/worker \d+[\s\S]*worker \d+/, 0);
  });

  afterAll(() => service.close());

  it('serves from two workers on one port, after preparing the database once in the primary', async () => {
    expect(service.output).toMatch(/Primary \d+: starting 2 workers/);
    expect(service.output.match(/Created database/g) ?? []).toHaveLength(1);
    expect(service.output.match(/Applied migrations/g) ?? []).toHaveLength(1);
    const pids = service.apiWorkerPids();
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(service.primary.pid);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${service.base}/health/live`);
      expect(res.status).toBe(200);
    }
  });

  it('replaces a worker that dies', async () => {
    const [victim, survivor] = service.apiWorkerPids();
    const from = service.output.length;
    process.kill(victim, 'SIGKILL');
    await service.waitFor(new RegExp(`Worker ${victim} exited \\(SIGKILL\\); starting a new one`), from);
    const [replacement] = await service
      .waitFor(/listening on .*, worker (\d+)/, from)
      .then((m) => [Number(m[1])]);
    expect(replacement).not.toBe(victim);
    expect(alive(survivor)).toBe(true);
    const res = await fetch(`${service.base}/health/live`);
    expect(res.status).toBe(200);
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = service.apiWorkerPids().filter(alive);
    expect(pids).toHaveLength(2);
    expect(await service.terminate()).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  });
});
