import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// A bad environment stops start-up before anything is opened, with a message that names the variable.
describe('start-up with bad configuration', () => {
  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['REVIEW_WORKING_DAYS', '0'],
    ['INTAKE_SWEEP_SECONDS', '0'],
  ])('%s=%s stops with exit code 2 naming the variable', (name, value) => {
    const r = spawnSync('npx', ['tsx', 'main.ts'], { env: { ...process.env, [name]: value }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    expect(r.stderr).toContain(name);
  });
});
