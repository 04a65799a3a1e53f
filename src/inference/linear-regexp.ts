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

/** ECMAScript's `\s` (WhiteSpace and LineTerminator), as class items; RE2's `\s` is ASCII whitespace only. */
const JS_WHITESPACE =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** What ECMAScript's `.` leaves out without the `s` flag; RE2's `.` leaves out only `\n`. */
const JS_LINE_TERMINATORS = '\\n\\r\\u2028\\u2029';

/**
 * The pattern with the classes whose meaning differs between ECMAScript and RE2 spelled out, so RE2 matches as
 * JavaScript would: `\s`, `\S` and (without the `s` flag) `.`. Refused: `\S` inside a character class, which has
 * no such spelling, and an escaped `1`…`9` or `k` (a backreference, or in a class something RE2 refuses too), which
 * RE2's translation would otherwise quietly read as a literal (`\8`, `\9`, `\k<name>`).
 */
function withJavaScriptClasses(pattern: string, flags: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern.charAt(i + 1);
      i++;
      if (/[1-9k]/.test(next))
        refuse(pattern, 'uses a backreference, which the linear-time regex engine (RE2) does not support');
      if (next === 's') out += inClass ? JS_WHITESPACE : `[${JS_WHITESPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${JS_WHITESPACE}]`;
      else if (next === 'S')
        refuse(
          pattern,
          'uses \\S inside a character class, which this engine cannot match as JavaScript does',
        );
      else out += c + next;
    } else if (c === '[' && !inClass) {
      inClass = true;
      out += c;
    } else if (c === ']' && inClass) {
      inClass = false;
      out += c;
    } else if (c === '.' && !inClass && !flags.includes('s')) {
      out += `[^${JS_LINE_TERMINATORS}]`;
    } else {
      out += c;
    }
  }
  return out;
}

function refuse(pattern: string, why: string): never {
  throw new Error(`pattern ${JSON.stringify(pattern)} ${why}`);
}

function compileLinearRegExp(pattern: string, flags: string): RegExpLike {
  // JSON Schema patterns are ECMA-262 regexes; checking the syntax natively first (compiling only, no matching)
  // keeps RE2's translation from quietly reading an invalid escape as a literal.
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    refuse(pattern, `is not a valid regular expression: ${(err as Error).message}`);
  }
  const spelled = withJavaScriptClasses(pattern, flags);
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(RE2JS.translateRegExp(new RegExp(spelled, flags)));
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
