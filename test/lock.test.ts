import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { takePidLock, pidAlive } from '../src/util/lock.js';

test('pid locks: busy while a live process holds one, taken over from a dead one, released only by the owner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wn-lock-'));
  try {
    const p = join(dir, '.lock');
    const release = takePidLock(p, (pid) => `busy ${pid}`);
    assert.equal(readFileSync(p, 'utf8'), String(process.pid));
    release();
    assert.ok(!existsSync(p));
    release(); // idempotent

    // held by a live process (our parent): a clear error naming its pid
    writeFileSync(p, String(process.ppid));
    assert.ok(pidAlive(process.ppid));
    assert.throws(
      () => takePidLock(p, (pid) => `busy ${pid}`),
      new RegExp(`^Error: busy ${process.ppid}$|busy ${process.ppid}`),
    );

    // left by a process that has exited: taken over
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    assert.ok(deadPid > 0 && !pidAlive(deadPid));
    writeFileSync(p, String(deadPid));
    const r2 = takePidLock(p, (pid) => `busy ${pid}`);
    assert.equal(readFileSync(p, 'utf8'), String(process.pid));
    // someone else replaced the file meanwhile: our release leaves theirs alone
    writeFileSync(p, String(process.ppid));
    r2();
    assert.equal(readFileSync(p, 'utf8'), String(process.ppid));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
