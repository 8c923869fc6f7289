/**
 * No long functions: lists every function, method, arrow function and lambda longer than the limit
 * (TypeScript in src/: 80 lines; C++/CUDA in native/: 100 lines), counted from the first line of its
 * head to its closing brace. A function may be longer where the comment right above it (the lines
 * immediately before its first line) says `long-function: <reason>`.
 *
 *   node --import tsx scripts/check-function-length.ts [--report] [PATH...]
 *
 * PATHs are files or folders (default: src native); folders are searched for *.ts and
 * *.cc/*.cu/*.h/*.cuh. Exit status 1 when a long function is found (0 with --report, which only lists).
 * TypeScript is parsed with the compiler API; C++/CUDA with a brace scanner that skips comments,
 * strings, character literals and preprocessor lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import ts from 'typescript';

export const TS_LIMIT = 80;
export const NATIVE_LIMIT = 100;
const NATIVE_EXTS = new Set(['.cc', '.cu', '.h', '.cuh']);

export interface FunctionSpan {
  name: string;
  /** 1-based line of the function's first line (its head). */
  line: number;
  lines: number;
  /** The reason given by a `long-function:` comment right above it, if any. */
  exemption: string | null;
}

export interface LongFunction extends FunctionSpan {
  file: string;
  limit: number;
}

const EXEMPTION = /long-function:\s*(\S.*?)\s*(?:\*\/)?\s*$/;

/**
 * The reason of a `long-function:` comment in the block of comment lines right above `line` (1-based),
 * or null. Comment lines start with //, /* or *, or end a block comment.
 */
export function exemptionAbove(lines: string[], line: number): string | null {
  for (let i = line - 2; i >= 0; i--) {
    const t = lines[i].trim();
    const isComment = t.startsWith('//') || t.startsWith('/*') || t.startsWith('*') || t.endsWith('*/');
    if (!isComment) return null;
    const m = EXEMPTION.exec(t);
    if (m) return m[1];
  }
  return null;
}

function tsName(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.FunctionLikeDeclaration;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (named.name) return named.name.getText(sf);
  // an anonymous function: the name it is assigned to, or where it is passed
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))
    return p.name.getText(sf);
  if (ts.isCallExpression(p)) return `(callback of ${p.expression.getText(sf).slice(0, 40)})`;
  return '(anonymous)';
}

/** Every function-like node of a TypeScript source with its length in lines. */
export function scanTypeScript(text: string, fileName = 'x.ts'): FunctionSpan[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = text.split('\n');
  const out: FunctionSpan[] = [];
  const visit = (node: ts.Node): void => {
    const isFunction =
      ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node);
    if (isFunction && (node as ts.FunctionLikeDeclaration).body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      out.push({
        name: tsName(node, sf),
        line: first,
        lines: last - first + 1,
        exemption: exemptionAbove(lines, first),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/**
 * C++/CUDA source with comments, string and character literals and preprocessor lines replaced by
 * spaces (newlines kept, so offsets and line numbers still match the original).
 */
export function blankCpp(text: string): string {
  const s = text.split('');
  const n = s.length;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < n; k++) if (s[k] !== '\n') s[k] = ' ';
  };
  let i = 0;
  let lineStart = true; // only whitespace since the last newline
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (lineStart && c === '#') {
      // a preprocessor directive, with its backslash-continued lines
      let j = i;
      while (j < n && !(text[j] === '\n' && text[j - 1] !== '\\')) {
        if (text.startsWith('/*', j)) {
          const e = text.indexOf('*/', j + 2);
          j = e < 0 ? n : e + 2;
          continue;
        }
        j++;
      }
      blank(i, j);
      i = j;
      continue;
    }
    if (c !== ' ' && c !== '\t' && c !== '\r') lineStart = false;
    if (text.startsWith('//', i)) {
      const e = text.indexOf('\n', i);
      const j = e < 0 ? n : e;
      blank(i, j);
      i = j;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const e = text.indexOf('*/', i + 2);
      const j = e < 0 ? n : e + 2;
      blank(i, j);
      i = j;
      continue;
    }
    const raw = /^(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(/.exec(text.slice(i, i + 24));
    if (raw && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) {
      const close = `)${raw[1]}"`;
      const e = text.indexOf(close, i + raw[0].length);
      const j = e < 0 ? n : e + close.length;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '"' || (c === "'" && !/[0-9A-Fa-f]/.test(text[i - 1] ?? ''))) {
      // a string or character literal (a ' after a digit is a digit separator: 1'000'000)
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      blank(i, j + 1);
      i = j + 1;
      continue;
    }
    i++;
  }
  return s.join('');
}

const CONTROL = new Set([
  'if',
  'for',
  'while',
  'switch',
  'catch',
  'return',
  'sizeof',
  'decltype',
  'alignof',
  'defined',
]);
const TRAILING = new Set(['const', 'noexcept', 'override', 'final', 'mutable', 'volatile', '&', '&&', 'throw']);

/** The offset of the '(' or '{' matching the ')' or '}' at `close` in blanked code, or -1. */
function openBracket(code: string, close: number): number {
  const [o, c] = code[close] === ')' ? ['(', ')'] : ['{', '}'];
  let depth = 0;
  for (let k = close; k >= 0; k--) {
    if (code[k] === c) depth++;
    else if (code[k] === o && --depth === 0) return k;
  }
  return -1;
}

function skipSpaceBack(code: string, k: number): number {
  while (k >= 0 && /\s/.test(code[k])) k--;
  return k;
}

/** The identifier (or `]` of a lambda, `)` of operator()) ending at k, scanning back. */
function wordBefore(code: string, k: number): { word: string; start: number } {
  k = skipSpaceBack(code, k);
  if (k < 0) return { word: '', start: 0 };
  if (code[k] === ']' || code[k] === ')' || code[k] === '&') return { word: code[k], start: k };
  let j = k;
  while (j >= 0 && /[A-Za-z0-9_~:<>]/.test(code[j])) j--;
  return { word: code.slice(j + 1, k + 1), start: j + 1 };
}

/**
 * Whether the `{` at `brace` opens a function or lambda body, and if so its name: the head before it
 * must end in a parameter list `(...)`, optionally followed by qualifiers (const, noexcept(...),
 * override, ...), a trailing return type or a constructor's initialiser list.
 */
function functionHead(code: string, brace: number): { name: string; params: number } | null {
  let k = skipSpaceBack(code, brace - 1);
  // a constructor's initialiser list `) : a_(x), b_{y} {`: step back over it to the parameter list
  for (let guard = 0; guard < 64 && k >= 0; guard++) {
    if (code[k] === ')' || code[k] === '}') {
      const open = openBracket(code, k);
      if (open < 0) return null;
      const w = wordBefore(code, open - 1);
      if (code[k] === ')' && (w.word === 'noexcept' || w.word === 'throw' || w.word === '__attribute__')) {
        k = skipSpaceBack(code, w.start - 1);
        continue;
      }
      const before = skipSpaceBack(code, w.start - 1);
      const colon = (b: number) => code[b] === ':' && code[b - 1] !== ':';
      if (/^[A-Za-z_]\w*$/.test(w.word) && (code[before] === ',' || colon(before))) {
        // a member initialiser: step back over the others to the `:` after the parameter list
        let b = before;
        while (code[b] === ',') {
          const p = skipSpaceBack(code, b - 1);
          if (code[p] !== ')' && code[p] !== '}') return null;
          b = skipSpaceBack(code, wordBefore(code, openBracket(code, p) - 1).start - 1);
        }
        if (!colon(b)) return null;
        k = skipSpaceBack(code, b - 1);
        continue;
      }
      if (code[k] === '}' || CONTROL.has(w.word)) return null;
      if (w.word === ']') return { name: '(lambda)', params: open };
      if (w.word === ')') return { name: 'operator()', params: open };
      if (/^[A-Za-z_~][\w:<>~]*$/.test(w.word)) return { name: w.word, params: open };
      return null;
    }
    const w = wordBefore(code, k);
    if (TRAILING.has(w.word)) {
      k = skipSpaceBack(code, w.start - 1);
      continue;
    }
    // a trailing return type `-> T`
    const arrow = code.lastIndexOf('->', k);
    if (
      arrow >= 0 &&
      code[skipSpaceBack(code, arrow - 1)] === ')' &&
      /^[\s\w:<>,*&]*$/.test(code.slice(arrow + 2, k + 1))
    ) {
      k = skipSpaceBack(code, arrow - 1);
      continue;
    }
    return null;
  }
  return null;
}

/** Every function and lambda of a C++/CUDA source with its length in lines. */
export function scanCpp(text: string): FunctionSpan[] {
  const code = blankCpp(text);
  const lines = text.split('\n');
  const lineOf: number[] = new Array(code.length);
  for (let i = 0, l = 1; i < code.length; i++) {
    lineOf[i] = l;
    if (code[i] === '\n') l++;
  }
  const out: FunctionSpan[] = [];
  // the start of the current statement or declaration at each brace depth
  const stack: { name: string | null; headLine: number }[] = [];
  let stmtStart = -1;
  let paren = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    if (stmtStart < 0 && !/\s/.test(c) && c !== '{' && c !== '}' && c !== ';') stmtStart = i;
    if (c === '{') {
      const fn = functionHead(code, i);
      // a function's head starts with its declaration; a lambda's at its capture list `[`
      let head = stmtStart >= 0 && paren === 0 ? stmtStart : i;
      if (fn && (fn.name === '(lambda)' || paren > 0)) {
        const cap = code.lastIndexOf('[', fn.params);
        head = cap >= 0 ? cap : i;
      }
      stack.push({ name: fn?.name ?? null, headLine: lineOf[head] });
      if (paren === 0) stmtStart = -1;
    } else if (c === '}') {
      const top = stack.pop();
      if (top?.name) {
        const last = lineOf[i];
        out.push({
          name: top.name,
          line: top.headLine,
          lines: last - top.headLine + 1,
          exemption: exemptionAbove(lines, top.headLine),
        });
      }
      if (paren === 0) stmtStart = -1;
    } else if (c === ';' && paren === 0) stmtStart = -1;
    else if (
      c === ':' &&
      code[i + 1] !== ':' &&
      code[i - 1] !== ':' &&
      /\b(?:public|private|protected)\s*$/.test(code.slice(Math.max(0, i - 12), i))
    ) {
      stmtStart = -1; // an access specifier is not part of the declaration after it
    }
  }
  if (stack.length !== 0) throw new Error(`unbalanced braces (${stack.length} left open)`);
  return out.sort((a, b) => a.line - b.line);
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if ((extname(p) === '.ts' && !p.endsWith('.d.ts')) || NATIVE_EXTS.has(extname(p))) out.push(p);
  }
  return out;
}

/** The functions over their limit in the files under `paths` (exempted ones included, marked). */
export function findLongFunctions(paths: string[]): LongFunction[] {
  const out: LongFunction[] = [];
  for (const file of paths.flatMap(listFiles)) {
    const text = readFileSync(file, 'utf8');
    const isTs = extname(file) === '.ts';
    const limit = isTs ? TS_LIMIT : NATIVE_LIMIT;
    let spans: FunctionSpan[];
    try {
      spans = isTs ? scanTypeScript(text, file) : scanCpp(text);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    for (const f of spans) if (f.lines > limit) out.push({ ...f, file, limit });
  }
  return out;
}

function main(argv: string[]): number {
  const report = argv.includes('--report');
  const paths = argv.filter((a) => a !== '--report');
  const found = findLongFunctions(paths.length ? paths : ['src', 'native']);
  const long = found.filter((f) => !f.exemption);
  for (const f of found) {
    const where = `${relative(process.cwd(), f.file)}:${f.line}`;
    const why = f.exemption ? `  (allowed: ${f.exemption})` : '';
    console.log(`${where}  ${f.name}  ${f.lines} lines (limit ${f.limit})${why}`);
  }
  const what = `${long.length} function${long.length === 1 ? '' : 's'} over the limit (${TS_LIMIT} lines in TypeScript, ${NATIVE_LIMIT} in C++/CUDA)`;
  if (long.length === 0) {
    console.log(
      `check-function-length: ok${found.length ? ` (${found.length} allowed by a long-function: comment)` : ''}`,
    );
    return 0;
  }
  console.log(
    `check-function-length: ${what}; split them, or say why above them with a long-function: <reason> comment`,
  );
  return report ? 0 : 1;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) process.exitCode = main(process.argv.slice(2));
