import type { EntityManager } from '@mikro-orm/postgresql';
import type { Prediction } from './prediction.entity';
import { GROUP_COMMIT_MAX_ROWS, PredictionWriter } from './prediction-writer';

type Item = { prediction: Prediction; extra?: (tx: EntityManager) => Promise<void> };

/** The repository's group-commit insert, faked: records each batch, can hold or fail it. */
class FakeRepository {
  batches: string[][] = [];
  failing = new Set<string>();
  private gates: Array<() => void> = [];
  hold = false;
  readonly tx = { name: 'tx' } as unknown as EntityManager;

  async insertBatch(items: Item[]): Promise<void> {
    this.batches.push(items.map((i) => i.prediction.id));
    if (this.hold) await new Promise<void>((resolve) => this.gates.push(resolve));
    if (items.some((i) => this.failing.has(i.prediction.id)))
      throw new Error('insert or update violates a foreign key');
    for (const item of items) await item.extra?.(this.tx);
  }

  /** Lets the oldest held batch commit. */
  release(): void {
    this.gates.shift()?.();
  }
}

const prediction = (id: string, inputData: unknown = [[1, 2, 3, 4]]) =>
  ({ id, inputData, outputData: null }) as Prediction;
const turn = () => new Promise((resolve) => setImmediate(resolve));

function setup() {
  const repo = new FakeRepository();
  const writer = new PredictionWriter<(tx: EntityManager) => Promise<void>>((items) =>
    repo.insertBatch(items),
  );
  return { repo, writer };
}

describe('PredictionWriter (group commit)', () => {
  it('writes a lone insert on the next event-loop turn, in a batch of one', async () => {
    const { repo, writer } = setup();
    const done = writer.insert(prediction('a'));
    expect(repo.batches).toEqual([]); // not synchronously
    await done;
    expect(repo.batches).toEqual([['a']]);
  });

  it('puts inserts made in the same turn into one batch', async () => {
    const { repo, writer } = setup();
    await Promise.all(['a', 'b', 'c'].map((id) => writer.insert(prediction(id))));
    expect(repo.batches).toEqual([['a', 'b', 'c']]);
  });

  it('lets inserts made while a batch is in flight wait and form the next batch', async () => {
    const { repo, writer } = setup();
    repo.hold = true;
    const settled: string[] = [];
    const track = (id: string) => writer.insert(prediction(id)).then(() => settled.push(id));
    const first = track('a');
    await turn();
    expect(repo.batches).toEqual([['a']]);
    const rest = [track('b'), track('c')];
    await turn();
    await turn();
    expect(repo.batches).toEqual([['a']]); // b and c wait for a's commit
    expect(writer.waiting).toBe(2);
    repo.release();
    await first;
    await turn();
    expect(repo.batches).toEqual([['a'], ['b', 'c']]);
    expect(settled).toEqual(['a']); // b and c are answered only once their own batch commits
    repo.release();
    await Promise.all(rest);
    expect(settled).toEqual(['a', 'b', 'c']);
  });

  it('runs each row alone after a failed batch, so only the bad row fails', async () => {
    const { repo, writer } = setup();
    repo.failing.add('b');
    const results = await Promise.allSettled(['a', 'b', 'c'].map((id) => writer.insert(prediction(id))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(repo.batches).toEqual([['a', 'b', 'c'], ['a'], ['b'], ['c']]);
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toMatch(/foreign key/);
  });

  it('writes each row’s outbox rows in its batch’s transaction', async () => {
    const { repo, writer } = setup();
    const seen: Array<[string, EntityManager]> = [];
    await Promise.all(
      ['a', 'b'].map((id) =>
        writer.insert(prediction(id), async (tx) => {
          seen.push([id, tx]);
          await Promise.resolve();
        }),
      ),
    );
    expect(seen).toEqual([
      ['a', repo.tx],
      ['b', repo.tx],
    ]);
    expect(repo.batches).toHaveLength(1);
  });

  it('caps a batch by rows and by JSON size', async () => {
    const { repo, writer } = setup();
    await Promise.all(
      Array.from({ length: GROUP_COMMIT_MAX_ROWS + 1 }, (_, i) => writer.insert(prediction(`r${i}`))),
    );
    expect(repo.batches.map((b) => b.length)).toEqual([GROUP_COMMIT_MAX_ROWS, 1]);

    // 32 × 130 × 13 numbers (a 1 MB genre14 body) per row: 16 of them are far over 8 MB.
    const big = Array.from({ length: 32 }, () =>
      Array.from({ length: 130 }, () => new Array<number>(13).fill(0.5)),
    );
    repo.batches = [];
    await Promise.all(Array.from({ length: 16 }, (_, i) => writer.insert(prediction(`g${i}`, big))));
    expect(repo.batches.length).toBeGreaterThan(1);
    expect(repo.batches.flat()).toHaveLength(16);
  });
});
