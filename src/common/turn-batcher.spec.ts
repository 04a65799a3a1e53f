import { TurnBatcher } from './turn-batcher';

describe('TurnBatcher', () => {
  it('serves the calls of one turn with one run, each caller getting its own result', async () => {
    const runs: number[][] = [];
    const batcher = new TurnBatcher<number, number>((keys) => {
      runs.push(keys);
      return Promise.resolve(keys.map((k) => k * 10));
    });
    const results = await Promise.all([batcher.call(1), batcher.call(2), batcher.call(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
    // A later turn gets a run of its own.
    expect(await batcher.call(4)).toBe(40);
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('splits a turn into runs of at most maxBatch keys', async () => {
    const runs: number[][] = [];
    const batcher = new TurnBatcher<number, number>((keys) => {
      runs.push(keys);
      return Promise.resolve(keys);
    }, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((k) => batcher.call(k)))).toEqual([1, 2, 3, 4, 5]);
    expect(runs).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('after a failed run, runs each key alone, so only the bad key fails', async () => {
    const batcher = new TurnBatcher<string, string>((keys) =>
      keys.includes('bad')
        ? Promise.reject(new Error('invalid byte sequence'))
        : Promise.resolve(keys.map((k) => k.toUpperCase())),
    );
    const settled = await Promise.allSettled(['a', 'bad', 'c'].map((k) => batcher.call(k)));
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('invalid byte sequence') },
      { status: 'fulfilled', value: 'C' },
    ]);
  });

  it('with a window, serves the calls of that window together, over several turns', async () => {
    const runs: number[][] = [];
    const batcher = new TurnBatcher<number, number>(
      (keys) => {
        runs.push(keys);
        return Promise.resolve(keys);
      },
      100,
      30,
    );
    const first = batcher.call(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.call(2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(runs).toEqual([]);
    expect(await Promise.all([first, second, batcher.call(3)])).toEqual([1, 2, 3]);
    expect(runs).toEqual([[1, 2, 3]]);
  });
});
