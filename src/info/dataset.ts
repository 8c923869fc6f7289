/** `wavenet info DIR` for a dataset folder (one with manifest.json). */
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Describer } from './describers.js';
import { CHUNKS_DIR, MANIFEST_FILE, readManifest, type Manifest } from '../dataset/manifest.js';
import { summarize, summaryText } from '../dataset/summary.js';
import { UserError } from '../util/errors.js';
import { kindOf } from '../util/files.js';

/** Problems with the chunk files a manifest lists: missing, not regular files, or of another size. */
export function chunkProblems(dir: string, m: Manifest): string[] {
  const out: string[] = [];
  const cdir = join(dir, CHUNKS_DIR);
  try {
    if (lstatSync(cdir).isSymbolicLink()) out.push(`${CHUNKS_DIR} is a symbolic link, not the dataset's own folder`);
  } catch {
    if (m.chunks.length > 0) return [`${CHUNKS_DIR}/ is missing (${m.chunks.length} chunk files listed)`];
  }
  for (const c of m.chunks) {
    const p = join(cdir, c.file);
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(`${CHUNKS_DIR}/${c.file} is missing`);
      continue;
    }
    if (!st.isFile()) out.push(`${CHUNKS_DIR}/${c.file} is ${kindOf(st)}`);
    else if (st.size !== c.samples)
      out.push(`${CHUNKS_DIR}/${c.file} holds ${st.size} bytes, the manifest says ${c.samples}`);
  }
  return out;
}

export const datasetDescriber: Describer = {
  kind: 'dataset',
  matches(path: string) {
    try {
      return statSync(path).isDirectory() && existsSync(join(path, MANIFEST_FILE));
    } catch {
      return false;
    }
  },
  async describe(path: string) {
    const m = readManifest(path);
    const problems = chunkProblems(path, m);
    if (problems.length > 0) {
      throw new UserError(
        `info: ${path}: broken dataset: ${problems.length} problem${problems.length === 1 ? '' : 's'} with its ${m.chunks.length} chunk files ` +
          `(${problems.slice(0, 2).join('; ')}${problems.length > 2 ? '; ...' : ''}); ingest the sources again into a new --out`,
      );
    }
    const s = summarize(path, m);
    return { text: summaryText(s, 50), json: s };
  },
};
