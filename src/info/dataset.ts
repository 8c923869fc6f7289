/** `wavenet info DIR` for a dataset folder (one with manifest.json). */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Describer } from './describers.js';
import { MANIFEST_FILE, readManifest } from '../dataset/manifest.js';
import { summarize, summaryText } from '../dataset/summary.js';

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
    const s = summarize(path, readManifest(path));
    return { text: summaryText(s, 50), json: s };
  },
};
