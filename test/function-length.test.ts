/**
 * The long-function check (scripts/check-function-length.ts, run by `npm run lint`): fed made-up
 * TypeScript and C++ sources, so that it is seen to find long functions, to measure them right, to be
 * fooled neither by braces in strings, comments or control blocks, and to honour a long-function: comment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blankCpp, findLongFunctions, scanCpp, scanTypeScript } from '../scripts/check-function-length.ts';

const root = join(import.meta.dirname, '..');
const body = (n: number, indent = '  ') => Array.from({ length: n }, (_, i) => `${indent}x += ${i};`).join('\n');

test('TypeScript: functions, methods and arrows are measured from their first line to their closing brace', () => {
  const src = [
    '/** doc */', //                                  1
    'export function plain(a: number): number {', //  2
    '  let x = a;',
    body(10),
    '  return x;',
    '}', //                                           15
    'const arrow = async (b: string) => {', //        16
    '  const inner = () => {', //                     17
    body(3, '    '),
    '  };', //                                        21
    '};', //                                          22
    'class C {',
    '  constructor(private y: number) {}', //         24
    '  method(): void {', //                          25
    '    return;',
    '  }', //                                         27
    '  get z(): number { return 1; }', //             28
    '}',
    'declare function noBody(): void;',
    '[1].map((v) => v * 2);', //                      31
  ].join('\n');
  const got = scanTypeScript(src).map((f) => `${f.name}@${f.line}:${f.lines}`);
  assert.deepEqual(got, [
    'plain@2:14',
    'arrow@16:7',
    'inner@17:5',
    'constructor@24:1',
    'method@25:3',
    'z@28:1',
    '(callback of [1].map)@31:1',
  ]);
});

test('TypeScript: a long-function: comment right above exempts the function, one further up does not', () => {
  const src = [
    '// long-function: a table of cases read top to bottom',
    'function allowed() {',
    body(90),
    '}',
    '// long-function: not right above',
    '',
    'function notAllowed() {',
    body(90),
    '}',
    '/**',
    ' * Several lines of doc.',
    ' * long-function: the reason sits anywhere in the block right above',
    ' */',
    'export const alsoAllowed = () => {',
    body(90),
    '};',
    '// long-function:',
    'function emptyReason() {',
    body(90),
    '}',
  ].join('\n');
  const f = scanTypeScript(src);
  assert.deepEqual(
    f.map((x) => [x.name, x.lines, x.exemption]),
    [
      ['allowed', 92, 'a table of cases read top to bottom'],
      ['notAllowed', 92, null],
      ['alsoAllowed', 92, 'the reason sits anywhere in the block right above'],
      ['emptyReason', 92, null],
    ],
  );
});

test('C++: comments, strings, character literals, raw strings and preprocessor lines are blanked, lines kept', () => {
  const src = [
    "int a = 1'000; // {",
    '/* { */ const char *s = "}\\"{";',
    "char c = '{';",
    'auto r = R"x({)x";',
    '#define F(x) { x }',
    'int b;',
  ].join('\n');
  const b = blankCpp(src);
  assert.equal(b.split('\n').length, 6);
  assert.equal(b.length, src.length);
  assert.ok(!/[{}]/.test(b), `braces left in: ${b}`);
  assert.match(b, /int a = 1'000;/);
  assert.match(b, /int b;/);
});

test('C++: functions, methods, constructors and lambdas are found; control blocks, classes and initialisers are not', () => {
  const src = [
    '#include <vector>', //                                                  1
    'namespace wn {', //                                                     2
    'struct Plan {', //                                                      3
    ' public:', //                                                           4
    '  explicit Plan(int n) : n_(n), v_{1, 2} {', //                         5
    '    if (n > 0) { n_++; }',
    '  }', //                                                                7
    '  int get() const noexcept { return n_; }', //                         8
    '  int n_; std::vector<int> v_;',
    '};',
    'static int add(int a,', //                                              11
    '               int b) {',
    '  const char *brace = "{";',
    '  for (int i = 0; i < a; ++i) { b++; }',
    '  while (b > 100) { b--; }',
    '  switch (a) { case 1: { break; } default: break; }',
    '  int arr[] = {1, 2, 3};',
    '  auto f = [&](int x) -> int {', //                                     18
    '    return x + b;',
    '  };', //                                                               20
    '  pool.run(a, [&](int i) { b += i; });', //                             21
    '  try { b++; } catch (...) { b--; }',
    '  return f(b) + arr[0];',
    '}', //                                                                  24
    'extern "C" int wn_thing(void) { return 0; }', //                        25
    '}  // namespace wn',
  ].join('\n');
  const got = scanCpp(src).map((f) => `${f.name}@${f.line}:${f.lines}`);
  assert.deepEqual(got, ['Plan@5:3', 'get@8:1', 'add@11:14', '(lambda)@18:3', '(lambda)@21:1', 'wn_thing@25:1']);
});

test('C++: a long function is reported unless a long-function: comment sits right above its head', () => {
  const fn = (name: string) => [`void ${name}(float *x) {`, '  int y = 0;', body(100), '}'].join('\n');
  const src = ['// long-function: one kernel, split it and registers spill', fn('allowed'), '', fn('tooLong')].join(
    '\n',
  );
  const f = scanCpp(src);
  assert.deepEqual(
    f.map((x) => [x.name, x.lines, x.exemption]),
    [
      ['allowed', 103, 'one kernel, split it and registers spill'],
      ['tooLong', 103, null],
    ],
  );
  assert.throws(() => scanCpp('void f() {\n  if (x) {\n}\n'), /unbalanced braces/);
});

test('the command fails on a tree with a long function and passes once it is split or explained', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wn-fnlen-'));
  try {
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'native'));
    const long = ['export function long(): number {', '  let x = 0;', body(80), '  return x;', '}'].join('\n');
    writeFileSync(join(dir, 'src', 'a.ts'), `${long}\n`);
    writeFileSync(join(dir, 'native', 'b.cc'), `int short_one() {\n  return 1;\n}\n`);
    const run = () =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/check-function-length.ts', join(dir, 'src'), join(dir, 'native')],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
    let r = run();
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /a\.ts:1 {2}long {2}84 lines \(limit 80\)/);
    assert.match(r.stdout, /1 function over the limit/);
    assert.equal(findLongFunctions([join(dir, 'src'), join(dir, 'native')]).length, 1);

    writeFileSync(join(dir, 'src', 'a.ts'), `// long-function: a made-up case for this test\n${long}\n`);
    r = run();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /allowed: a made-up case for this test/);
    assert.match(r.stdout, /check-function-length: ok \(1 allowed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
