/**
 * The CLI loads only the module of the command it runs (src/commands/index.ts); everything else
 * (help, version, no command, a misspelled one, bench) gets every command, in --help order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCommands } from '../src/commands/index.ts';
import { commandName } from '../src/commands/flags.ts';

const names = async (args: string[]) => (await loadCommands(args)).map(commandName);
const ALL = ['info', 'ingest', 'train', 'render', 'synth', 'bench'];

test('a named command loads that command only', async () => {
  assert.deepEqual(await names(['ingest', 'music', '--out', 'datasets/x']), ['ingest']);
  assert.deepEqual(await names(['--json', 'info', 'runs/a']), ['info']);
  assert.deepEqual(await names(['train', '--help']), ['train']);
  const [ingest] = await loadCommands(['ingest']);
  assert.equal(typeof ingest.handler, 'function');
  assert.equal(typeof ingest.builder, 'function');
});

test('no command, help, version, a typo, bench or a word that is no command: every command, in order', async () => {
  for (const args of [[], ['--help'], ['--version'], ['ingets', 'x'], ['bench', 'synth'], ['constructor'], ['-h']])
    assert.deepEqual(await names(args), ALL, args.join(' '));
});
