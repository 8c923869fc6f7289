#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, built by `npm ci` / `npm run build:ts`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error('wavenet: dist/cli.js is missing; run `npm ci` (or `npm run build:ts`) in the project folder first.');
  process.exit(1);
}
await import(pathToFileURL(cli).href);
