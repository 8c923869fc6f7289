/** The summary `wavenet ingest --json` and `wavenet info DIR --json` print for a dataset. */
import { manifestHash, type Manifest, type ManifestRejected } from './manifest.js';
import { formatSeconds } from './options.js';
import { validationSources, type SourceSplit } from './split.js';

export interface DatasetSummary {
  dataset: string;
  manifestHash: string;
  sampleRate: number;
  mu: number;
  classes: number;
  chunkSamples: number;
  chunkSeconds: number;
  valFraction: number;
  trimSilenceDb: number | null;
  /** Number of sources. */
  sources: number;
  /** Number of rejected inputs; the list is in rejectedFiles. */
  rejected: number;
  rejectedFiles: ManifestRejected[];
  chunks: { train: number; val: number; total: number };
  seconds: { train: number; val: number; total: number };
  /** Seconds of decoded source audio (before chunking; includes tails shorter than 1 s). */
  sourceSeconds: number;
  codecs: Record<string, number>;
  /** The sources with chunks in the validation split (see datasets/README.md, "Split"). */
  validationSources: SourceSplit[];
}

/** `hash` overrides reading the manifest file's hash (for a manifest that was not written). */
export function summarize(dir: string, m: Manifest, hash?: string): DatasetSummary {
  const chunks = { train: 0, val: 0, total: 0 };
  const samples = { train: 0, val: 0 };
  for (const c of m.chunks) {
    chunks[c.split]++;
    samples[c.split] += c.samples;
  }
  chunks.total = m.chunks.length;
  const codecs: Record<string, number> = {};
  for (const s of m.sources) codecs[s.codec] = (codecs[s.codec] ?? 0) + 1;
  const r = m.sampleRate;
  return {
    dataset: dir,
    manifestHash: hash ?? manifestHash(dir),
    sampleRate: m.sampleRate,
    mu: m.mu,
    classes: m.classes,
    chunkSamples: m.chunkSamples,
    chunkSeconds: m.chunkSamples / r,
    valFraction: m.valFraction,
    trimSilenceDb: m.trimSilenceDb,
    sources: m.sources.length,
    rejected: m.rejected.length,
    rejectedFiles: m.rejected,
    chunks,
    seconds: { train: samples.train / r, val: samples.val / r, total: (samples.train + samples.val) / r },
    sourceSeconds: m.sources.reduce((a, s) => a + s.durationSeconds, 0),
    codecs,
    validationSources: validationSources(m),
  };
}

export function summaryText(s: DatasetSummary, maxRejected = 20): string {
  const codecs = Object.entries(s.codecs)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `dataset ${s.dataset} ` +
      (s.manifestHash ? `(manifest sha256 ${s.manifestHash.slice(0, 12)})` : '(not created: nothing was ingested)'),
    `  ${s.sampleRate} Hz, mu-law mu=${s.mu} (${s.classes} classes), chunks of ${formatSeconds(s.chunkSeconds)}` +
      `, validation fraction ${s.valFraction}` +
      (s.trimSilenceDb === null ? '' : `, silence trimmed below ${s.trimSilenceDb} dB`),
    `  sources:  ${s.sources}${codecs ? ` (${codecs})` : ''}, ${formatSeconds(s.sourceSeconds)} of audio`,
    `  chunks:   ${s.chunks.train} train (${formatSeconds(s.seconds.train)}), ${s.chunks.val} val (${formatSeconds(s.seconds.val)}` +
      (s.seconds.total > 0 ? `, ${Math.round((100 * s.seconds.val) / s.seconds.total)}% of the audio)` : ')'),
  ];
  const vs = s.validationSources ?? [];
  if (vs.length > 0) {
    const whole = vs.filter((v) => v.valChunks === v.chunks).length;
    lines.push(
      `  validation: ${vs.length} of ${s.sources} source${s.sources === 1 ? '' : 's'}${whole === vs.length ? ', whole recordings' : whole === 0 ? (vs.length === 1 ? ', part of it' : ', part of each') : `, ${whole} of them whole`}`,
    );
    for (const v of vs.slice(0, maxRejected)) {
      lines.push(
        `    ${v.path}: ${v.valChunks === v.chunks ? `whole, ${v.chunks} chunk${v.chunks === 1 ? '' : 's'}` : `${v.valChunks} of ${v.chunks} chunks`} (${formatSeconds(v.valSeconds)})`,
      );
    }
    if (vs.length > maxRejected) lines.push(`    ... and ${vs.length - maxRejected} more (see manifest.json)`);
  }
  lines.push(`  rejected: ${s.rejected}`);
  for (const r of s.rejectedFiles.slice(0, maxRejected)) lines.push(`    ${r.path}: ${r.reason}`);
  if (s.rejectedFiles.length > maxRejected)
    lines.push(`    ... and ${s.rejectedFiles.length - maxRejected} more (see manifest.json)`);
  return lines.join('\n');
}
