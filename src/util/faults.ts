/**
 * Test-only fault injection. Library code that writes files in several steps (render's textures,
 * checkpoints) takes an optional FaultHook and calls it at named points; the CLI builds the hook from
 * an environment variable (WAVENET_TEST_RENDER_CRASH, WAVENET_TEST_CHECKPOINT_CRASH) and decides what
 * the fault does (the tests kill the process there), so no library module reads the environment.
 */

/** At write point `phase` of item `n` (a texture's number, a checkpoint's step): what to run, if anything. */
export type FaultHook = (n: number, phase: string) => (() => void) | undefined;

/** The hook for a spec "N:PHASE": `act` at that point, nothing elsewhere. Undefined spec: no hook. */
export function faultAt(spec: string | undefined, act: () => void): FaultHook | undefined {
  if (!spec) return undefined;
  const [n, phase] = spec.split(':');
  return (k, p) => (Number(n) === k && p === phase ? act : undefined);
}
