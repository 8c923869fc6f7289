/**
 * Make a file from one of ffmpeg's lavfi sources (a tone, noise, a test picture). Shared by the tests and
 * scripts/bench-ingest.ts; no side effects on import, so a script can use it without the test helpers.
 */
import { execFileSync } from 'node:child_process';

/**
 * Runs `ffmpeg -f lavfi -i <source> <output...>` quietly (never asks, overwrites); throws with ffmpeg's
 * stderr when it fails. `output` is the codec flags and the output path, e.g. ['-c:a', 'pcm_u8', 'a.wav'].
 */
export function lavfi(ffmpeg: string, source: string, output: string[]): void {
  execFileSync(ffmpeg, ['-nostdin', '-y', '-v', 'error', '-f', 'lavfi', '-i', source, ...output], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
