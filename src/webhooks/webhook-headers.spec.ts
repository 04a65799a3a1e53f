import { customHeadersProblem } from './webhook-headers';

describe('customHeadersProblem', () => {
  it('accepts ordinary headers', () => {
    expect(customHeadersProblem({ Authorization: 'Bearer x', 'X-Team': 'ml' })).toBeNull();
    expect(customHeadersProblem(null)).toBeNull();
  });

  it.each([
    [{ Connection: 'close' }, /cannot be set/],
    [{ 'Transfer-Encoding': 'chunked' }, /cannot be set/],
    [{ Host: 'x' }, /cannot be set/],
    [{ Expect: '100-continue' }, /cannot be set/],
    [{ 'webhook-id': 'x' }, /cannot be set/],
    [{ 'X-A': 'a', 'x-a': 'b' }, /twice/],
    [{ 'X-A': 1 }, /string/],
    [{ 'bad name': 'x' }, /not a valid header name/],
    [{ 'X-A': 'a\nb' }, /not allowed/],
    [{ 'X-A': 'x'.repeat(1025) }, /longer than/],
    [Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-${i}`, 'v'])), /at most 20/],
    [Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-${i}`, 'v'.repeat(1000)])), /total/],
    [['a'], /object/],
  ])('refuses %j', (headers, problem) => {
    expect(customHeadersProblem(headers)).toMatch(problem);
  });
});
