/** A context API call found in function node code. */
export interface ContextCall {
  scope: 'context' | 'flow' | 'global';
  method: 'get' | 'set' | 'keys';
  /** The store named as a string literal; undefined when the call uses the default store. */
  store?: string;
}

/** Where each method takes its optional store argument. */
const STORE_ARG = { get: 1, set: 2, keys: 0 } as const;
const CALL = /(?<![\w$.])(?:context\s*\.\s*)?(context|flow|global)\s*\.\s*(get|set|keys)\s*\(/g;

/**
 * Finds `flow.get(...)`, `global.set(...)`, `context.keys(...)` (also `context.flow.get`) in
 * JavaScript source, ignoring comments and strings, and reads the store argument when it is a
 * string literal. A scanner rather than a parser: fast, and it never throws on broken code.
 */
export function findContextCalls(code: string): ContextCall[] {
  const masked = mask(code);
  const calls: ContextCall[] = [];
  for (const match of masked.matchAll(CALL)) {
    const method = match[2] as ContextCall['method'];
    const args = splitArguments(masked, match.index! + match[0].length);
    const arg = args[STORE_ARG[method]];
    const literal = arg ? stringLiteral(code.slice(arg[0], arg[1])) : undefined;
    calls.push({ scope: match[1] as ContextCall['scope'], method, store: literal });
  }
  return calls;
}

/**
 * The code with the inside of comments, strings and regular expressions blanked out (same
 * length, quotes kept), so calls are only found in code and offsets still match the original.
 * The `${...}` expressions of template literals stay code.
 */
function mask(code: string): string {
  const pieces: string[] = [];
  let copied = 0;
  const blank = (from: number, to: number) => {
    pieces.push(code.slice(copied, from), code.slice(from, to).replace(/[^\n]/g, ' '));
    copied = to;
  };
  // For each `${` we are inside: how many `{` opened in it are still open.
  const templates: number[] = [];
  /** Blanks template text from `from` up to its closing backtick or next `${`; returns where code resumes. */
  const templateText = (from: number): number => {
    let k = from;
    while (k < code.length && code[k] !== '`' && !(code[k] === '$' && code[k + 1] === '{')) k += code[k] === '\\' ? 2 : 1;
    const stop = Math.min(k, code.length);
    blank(from, stop);
    if (code[stop] === '$') {
      templates.push(0);
      return stop + 2;
    }
    return stop + 1;
  };
  let lastSignificant = '';
  let i = 0;
  while (i < code.length) {
    const c = code[i];
    if (c === '/' && code[i + 1] === '/') {
      const end = code.indexOf('\n', i);
      const stop = end === -1 ? code.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      const stop = end === -1 ? code.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '`' || (c === '}' && templates.length > 0 && templates[templates.length - 1] === 0)) {
      if (c === '}') templates.pop();
      i = templateText(i + 1);
      lastSignificant = '`';
    } else if (c === '"' || c === '\'' || (c === '/' && REGEX_BEFORE.includes(lastSignificant))) {
      // A slash after an operator or opening bracket starts a regular expression, not a division.
      let k = i + 1;
      while (k < code.length && code[k] !== c && code[k] !== '\n') k += code[k] === '\\' ? 2 : 1;
      const stop = Math.min(k, code.length);
      blank(i + 1, stop);
      i = stop + 1;
      lastSignificant = c;
    } else {
      if (templates.length > 0 && c === '{') templates[templates.length - 1]++;
      else if (templates.length > 0 && c === '}') templates[templates.length - 1]--;
      if (c !== ' ' && c !== '\n' && c !== '\t' && c !== '\r') lastSignificant = c;
      i++;
    }
  }
  if (copied === 0) return code;
  pieces.push(code.slice(copied));
  return pieces.join('');
}

/** Characters after which a `/` starts a regular expression; '' is the start of the code. */
const REGEX_BEFORE = ['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^'];

/** [start, end) offsets of each top-level argument of the call whose `(` ends just before `from`. */
function splitArguments(masked: string, from: number): Array<[number, number]> {
  const args: Array<[number, number]> = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < masked.length; i++) {
    const c = masked[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        if (masked.slice(start, i).trim() !== '') args.push([start, i]);
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push([start, i]);
      start = i + 1;
    }
  }
  // Unclosed call (broken code): take what is there.
  if (masked.slice(start).trim() !== '') args.push([start, masked.length]);
  return args;
}

function stringLiteral(source: string): string | undefined {
  const m = /^\s*(["'`])([^"'`\\]*)\1\s*$/.exec(source);
  return m ? m[2] : undefined;
}
