/**
 * The README's first command runs `npm run demo`; this runs the same compiled
 * demo so CI proves it still does what the README promises, step by step.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(240_000);

describe('npm run demo', () => {
  it('applies the organization-app example, finds the drift it caused, cleans up, and prints no secret', () => {
    requireTerraform();
    requireBuiltProvider();
    // Run from a folder of its own, to see that the demo writes nothing where it is started (cdktf's
    // local backend puts state files in the folder an app runs in).
    const startedIn = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-demo-cwd-'));
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'scripts', 'demo.js')], {
      cwd: startedIn,
      encoding: 'utf8',
      env: { ...process.env, APPREG_DEMO_KEEP: '' },
      timeout: 230_000,
    });
    const leftBehind = fs.readdirSync(startedIn);
    fs.rmSync(startedIn, { recursive: true, force: true });
    expect(leftBehind).toEqual([]);
    const out = r.stdout + r.stderr;
    expect(out).not.toContain('Demo failed');
    expect(r.status).toBe(0);
    expect(out).toContain('Apply complete! Resources: 4 added');
    expect(out).toMatch(/client id: [a-z0-9]+/);
    expect(out).toContain('appreg drift exited 2: drift found');
    expect(out).toContain('callback_urls:');
    expect(out).toContain('Demo complete.');
    // The plan and outputs show the secret only as a sensitive value.
    expect(out).toMatch(/client_secret\s+= \(sensitive value\)/);
    const tmp = /everything happens in (\S+)/.exec(out)?.[1];
    expect(tmp).toBeDefined();
    expect(fs.existsSync(tmp!)).toBe(false);
  });
});
