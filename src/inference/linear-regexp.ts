import type { CodeOptions } from 'ajv';
import { RE2JS } from 're2js';

/**
 * Ajv's `code.regExp` engine for uploader-written schemas (`pattern`, `patternProperties`): RE2 (the pure-JS
 * `re2js` port) matches in time linear in the input, where the native backtracking RegExp takes exponential
 * time on patterns like `^(a|a)+$`, blocking the process for every tenant. RE2 has no backreferences and no
 * lookaround; such patterns make this throw, which Ajv's compile surfaces and the caller reports as a bad
 * schema.
 */

type RegExpEngine = NonNullable<CodeOptions['regExp']>;
type RegExpLike = ReturnType<RegExpEngine>;

/** Whether the pattern escapes `1`…`9` or `k`: a backreference (or, in a class, something RE2 refuses too). */
function hasBackreference(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    i++; // the escaped character
    if (/[1-9k]/.test(pattern.charAt(i))) return true;
  }
  return false;
}

function refuse(pattern: string, why: string): never {
  throw new Error(`pattern ${JSON.stringify(pattern)} ${why}`);
}

function compileLinearRegExp(pattern: string, flags: string): RegExpLike {
  // JSON Schema patterns are ECMA-262 regexes; checking the syntax natively first (compiling only, no matching)
  // keeps RE2's translation from quietly reading an invalid escape as a literal.
  let native: RegExp;
  try {
    native = new RegExp(pattern, flags);
  } catch (err) {
    refuse(pattern, `is not a valid regular expression: ${(err as Error).message}`);
  }
  // The translation would turn `\8`, `\9` and `\k<name>` into literals, so backreferences are refused here.
  if (hasBackreference(pattern)) {
    refuse(pattern, 'uses a backreference, which the linear-time regex engine (RE2) does not support');
  }
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(RE2JS.translateRegExp(native));
  } catch (err) {
    refuse(
      pattern,
      `is not supported by the linear-time regex engine (RE2: no backreferences or lookaround): ${(err as Error).message}`,
    );
  }
  const source = `/${pattern}/${flags}`;
  // Ajv shares compiled patterns between schemas by toString(), as it does for native RegExps.
  const compiled = { test: (s: string) => re2.test(s), toString: () => source };
  return compiled;
}

/**
 * `code` is the source Ajv's standalone code generation would emit to reach this engine; Modelport compiles
 * schemas at run time only, so it is never used.
 */
export const linearRegExp: RegExpEngine = Object.assign(compileLinearRegExp, {
  code: 'require("./linear-regexp").linearRegExp',
});
