/** The summary `wavenet ingest --json` and `wavenet info DIR --json` print for a dataset. */
import { manifestHash, type Manifest, type ManifestRejected } from './manifest.js';
import { formatSeconds } from './options.js';

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
  };
}

export function summaryText(s: DatasetSummary, maxRejected = 20): string {
  const codecs = Object.entries(s.codecs)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `dataset ${s.dataset} ` + (s.manifestHash ? `(manifest sha256 ${s.manifestHash.slice(0, 12)})` : '(not created: nothing was ingested)'),
    `  ${s.sampleRate} Hz, mu-law mu=${s.mu} (${s.classes} classes), chunks of ${formatSeconds(s.chunkSeconds)}` +
      `, validation fraction ${s.valFraction}` + (s.trimSilenceDb === null ? '' : `, silence trimmed below ${s.trimSilenceDb} dB`),
    `  sources:  ${s.sources}${codecs ? ` (${codecs})` : ''}, ${formatSeconds(s.sourceSeconds)} of audio`,
    `  chunks:   ${s.chunks.train} train (${formatSeconds(s.seconds.train)}), ${s.chunks.val} val (${formatSeconds(s.seconds.val)})`,
    `  rejected: ${s.rejected}`,
  ];
  for (const r of s.rejectedFiles.slice(0, maxRejected)) lines.push(`    ${r.path}: ${r.reason}`);
  if (s.rejectedFiles.length > maxRejected) lines.push(`    ... and ${s.rejectedFiles.length - maxRejected} more (see manifest.json)`);
  return lines.join('\n');
}
