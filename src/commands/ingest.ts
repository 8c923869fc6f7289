/** `wavenet ingest <inputs..>`: audio files and folders -> a dataset of mu-law chunks (datasets/README.md). */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { availableParallelism } from 'node:os';
import { UserError } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { withJson } from './options.js';
import { defaultOut, ingest } from '../dataset/ingest.js';
import { formatSeconds, parseDuration, parseTrimSilence } from '../dataset/options.js';
import { summaryText } from '../dataset/summary.js';

interface IngestArgs {
  inputs: string[];
  out?: string;
  chunk?: string;
  rate?: number;
  val?: number;
  trimSilence?: string;
  jobs?: number;
  json: boolean;
}

export const ingestCommand: CommandModule<object, IngestArgs> = {
  command: 'ingest <inputs..>',
  describe: 'Decode audio files and folders into a dataset of mu-law chunks',
  builder: (y: Argv) =>
    withJson(
      y
        .positional('inputs', {
          type: 'string',
          array: true,
          describe: 'Audio files and folders (searched recursively); any format ffmpeg reads',
        })
        .option('out', { type: 'string', describe: 'Dataset folder [default: datasets/<name of the first input>]' })
        .option('chunk', { type: 'string', describe: 'Chunk length: 16s, 500ms, 2m or plain seconds [default: 16s]' })
        .option('rate', { type: 'number', describe: 'Sample rate of the dataset in Hz [default: 16000]' })
        .option('val', {
          type: 'number',
          describe:
            'Fraction of the audio held out for validation: whole recordings when there are enough, else chunks (datasets/README.md) [default: 0.1]',
        })
        .option('trim-silence', {
          type: 'string',
          describe: 'Trim leading/trailing silence below a level, e.g. -50dB [default: off]',
        })
        .option('jobs', {
          type: 'number',
          describe: `Files decoded in parallel [default: number of cores, here ${availableParallelism()}]`,
        }),
    )
      .example('$0 ingest ./eno --chunk 16s', 'Every audio file under ./eno -> datasets/eno/')
      .example(
        '$0 ingest a.flac b.mp3 --out datasets/mix --trim-silence -50dB',
        'Two files, silence at the ends trimmed',
      )
      .example('$0 ingest ./eno --json', 'Print the dataset summary as JSON') as unknown as Argv<IngestArgs>,
  handler: async (argv: ArgumentsCamelCase<IngestArgs>) => {
    const inputs = (argv.inputs ?? []).map(String);
    if (inputs.length === 0) throw new UserError('ingest: give at least one input file or folder');
    if (argv.rate !== undefined && (!Number.isInteger(argv.rate) || argv.rate < 1000 || argv.rate > 384000)) {
      throw new UserError(`--rate ${argv.rate}: expected an integer sample rate between 1000 and 384000 Hz`);
    }
    if (argv.val !== undefined && !(argv.val >= 0 && argv.val <= 1))
      throw new UserError(`--val ${argv.val}: expected a fraction between 0 and 1`);
    if (argv.jobs !== undefined && !(Number.isInteger(argv.jobs) && argv.jobs >= 1))
      throw new UserError(`--jobs ${argv.jobs}: expected a whole number >= 1`);
    const chunkSeconds = argv.chunk === undefined ? undefined : parseDuration(argv.chunk, '--chunk');
    const trimSilenceDb = argv.trimSilence === undefined ? undefined : parseTrimSilence(argv.trimSilence);
    if (argv.out !== undefined && String(argv.out).trim() === '')
      throw new UserError('--out needs a folder name, e.g. --out datasets/mix');
    const out = argv.out ?? defaultOut(inputs);

    const progress = createProgress({ label: 'ingest', unit: 'files', silent: argv.json });
    const result = await ingest({
      inputs,
      out,
      chunkSeconds,
      rate: argv.rate,
      val: argv.val,
      trimSilenceDb,
      jobs: argv.jobs,
      onMessage: (l) => progress.log(l),
      onLocked: exitOnInterrupt,
      onProgress: (p) => {
        progress.setTotal(p.filesTotal);
        const x = p.elapsedSeconds > 0 ? p.audioSeconds / p.elapsedSeconds : 0;
        progress.update(p.filesDone, `${formatSeconds(p.audioSeconds)} of audio, ${x.toFixed(0)}x real time`);
      },
    });
    progress.stop({ clear: !result.ingestedAny });
    const { summary, run } = result;
    if (!result.ingestedAny && !argv.json) {
      // The rejected inputs were listed as they happened; a summary of zeros would only bury them.
      throw new UserError(
        `nothing was ingested: ${run.rejected.length} input(s) rejected (listed above` +
          (summary.manifestHash ? ` and in ${summary.dataset}/manifest.json)` : '; no dataset was created)'),
      );
    }
    if (argv.json) {
      console.log(JSON.stringify({ ...summary, run }, null, 2));
    } else {
      console.log(
        `ingested ${run.added} new source(s), ${run.chunksAdded} chunks; ${run.skipped.length} already in the dataset; ` +
          `${run.rejected.length} rejected; ${formatSeconds(run.audioSeconds)} of audio in ${run.wallSeconds.toFixed(1)} s ` +
          `(${run.speed.toFixed(0)}x real time, ${run.jobs} jobs, ${run.decoder})`,
      );
      console.log(summaryText(summary));
    }
    if (!result.ingestedAny) {
      process.stderr.write(
        `wavenet: nothing was ingested: ${run.rejected.length} input(s) rejected (listed above` +
          (summary.manifestHash ? ` and in ${summary.dataset}/manifest.json)\n` : `; no dataset was created)\n`),
      );
      process.exitCode = 1;
    }
  },
};

/**
 * Ctrl-C / SIGTERM during ingest: release the dataset lock and exit at once (130 / 143). Chunks are
 * written before the manifest that lists them, and the manifest is replaced atomically, so the dataset
 * keeps its last complete state; unlisted chunks are cleaned up by the next ingest.
 */
function exitOnInterrupt(release: () => void, dir: string): () => void {
  const onSignal = (sig: NodeJS.Signals) => {
    release();
    process.stderr.write(`\nwavenet: ingest interrupted (${sig}); ${dir} keeps its last complete manifest\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
