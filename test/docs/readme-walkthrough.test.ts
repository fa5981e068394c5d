/**
 * The README's "Use it in your cdktf app" walkthrough, run as written on a
 * fresh machine: the fenced blocks marked `<!-- walkthrough: sh -->` run line
 * by line in one shell session (exports and `cd` carry over), in a temporary
 * folder standing for the checkout, with HOME a temporary folder too (so
 * `~/.terraform.d/plugins` starts empty); the block marked
 * `<!-- walkthrough: ts main.ts -->` is written as the user's `main.ts` when
 * the walkthrough reaches it. The apps must then exist in the service.
 *
 * What is changed from the text, and why (everything else runs as printed):
 * - `npm ci && npm run build`: this checkout is already built (npm test does
 *   it), and `npm ci` would replace node_modules under every other test.
 *   `$PWD/bin` is this checkout's `bin/`, since the steps run elsewhere.
 * - `npm run release`: the same script, run from this build, writes into the
 *   temporary checkout folder rather than the shared `release/`.
 * - port 8787: a free port, so parallel runs do not collide.
 * - `<token from admin init>`: the token that `appreg admin init` printed.
 * - `terraform apply`: with `-auto-approve`, as nobody is there to type yes.
 * npm uses the machine's own cache (HOME is empty) and prefers it, so the
 * packages come from the registry only when the cache lacks them.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { runProcess, type ProcessRun } from '../support/process';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(600_000);

/** One marked block of the walkthrough. */
export interface WalkthroughBlock {
  kind: 'sh' | 'ts';
  /** For a `ts` block: the file it becomes. */
  file?: string;
  /** The block's text, indentation removed. */
  text: string;
}

/** The marked fenced blocks of the README section `## <section>`, in order. */
export function walkthroughBlocks(readme: string, section: string): WalkthroughBlock[] {
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start === -1) throw new Error(`README.md has no section "## ${section}"`);
  const next = readme.indexOf('\n## ', start + 1);
  const body = readme.slice(start, next === -1 ? undefined : next);
  const blocks: WalkthroughBlock[] = [];
  const re = /<!-- walkthrough: (sh|ts)(?: (\S+))? -->\n([ \t]*)```\w*\n([\s\S]*?)\n[ \t]*```/g;
  for (const m of body.matchAll(re)) {
    const indent = m[3]!;
    const text = m[4]!.split('\n').map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())).join('\n');
    blocks.push({ kind: m[1] as 'sh' | 'ts', ...(m[2] ? { file: m[2] } : {}), text });
  }
  return blocks;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A shell session: each line runs in `bash -e`, starting from the variables
 * and folder the previous line left. Output goes to files, so a line that
 * starts a server in the background (`&`) returns at once.
 */
class Session {
  private readonly state: string;
  private readonly cwdFile: string;
  /** Pids started in the background, to stop at the end. */
  readonly background: number[] = [];
  /** Every line run, with its output, for the failure message. */
  readonly transcript: string[] = [];

  /**
   * @param dir where the session keeps its state and each line's output
   * @param cwd the folder the first line runs in
   * @param env the environment of the shell
   */
  constructor(private readonly dir: string, cwd: string, private readonly env: NodeJS.ProcessEnv) {
    this.state = path.join(dir, 'session.env');
    this.cwdFile = path.join(dir, 'session.cwd');
    fs.writeFileSync(this.cwdFile, cwd);
    fs.writeFileSync(this.state, '');
  }

  /** The session's current folder. */
  get cwd(): string {
    return fs.readFileSync(this.cwdFile, 'utf8').trim();
  }

  /** Runs one line; throws with the transcript when it fails. */
  async line(line: string): Promise<ProcessRun> {
    const out = path.join(this.dir, 'line.out');
    const err = path.join(this.dir, 'line.err');
    const pids = path.join(this.dir, 'line.pids');
    fs.rmSync(pids, { force: true });
    const bg = /&\s*$/.test(line);
    const script = [
      'set -e',
      `. ${JSON.stringify(this.state)}`,
      `cd "$(cat ${JSON.stringify(this.cwdFile)})"`,
      `{ ${bg ? `${line} echo $! > ${JSON.stringify(pids)};` : `${line};`} } > ${JSON.stringify(out)} 2> ${JSON.stringify(err)}`,
      `export -p > ${JSON.stringify(this.state)}`,
      `pwd > ${JSON.stringify(this.cwdFile)}`,
    ].join('\n');
    const r = await runProcess('bash', ['-c', script], { env: this.env });
    const run = { code: r.code, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') + r.stderr };
    if (fs.existsSync(pids)) this.background.push(Number(fs.readFileSync(pids, 'utf8').trim()));
    this.transcript.push(`$ ${line}\n${run.stdout.slice(-2000)}${run.stderr.slice(-2000)}(exit ${run.code})`);
    if (run.code !== 0) throw new Error(`the walkthrough failed at: ${line}\n\n${this.transcript.join('\n')}`);
    return run;
  }

  /** Stops what the session started in the background. */
  async stop(): Promise<void> {
    for (const pid of this.background) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        continue; // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const SECTION = 'Use it in your cdktf app';

describe('README: the cdktf walkthrough as written', () => {
  const blocks = walkthroughBlocks(README, SECTION);

  it('is marked: shell steps around the app\'s main.ts', () => {
    expect(blocks.map((b) => b.kind)).toEqual(['sh', 'sh', 'sh', 'ts', 'sh']);
    expect(blocks[3]!.file).toBe('main.ts');
  });

  it('uses one command name, appreg, put on PATH first, and the release rather than the checkout', () => {
    const sh = blocks.filter((b) => b.kind === 'sh').map((b) => b.text).join('\n');
    expect(sh).not.toMatch(/bin\/appreg/);
    expect(sh.indexOf('export PATH="$PWD/bin:$PATH"')).toBeLessThan(sh.indexOf('appreg '));
    expect(sh).toContain('appreg provider install --from release/terraform-provider-appreg_0.1.0_linux_amd64.zip');
    expect(sh).toMatch(/npm install "\$APPREG_RELEASE\/appreg-provider-cdktf-0\.1\.0\.tgz" cdktf@0\.21 constructs@10\.7/);
    const ts = blocks[3]!.text;
    expect(ts).toContain("from '@appreg/provider-cdktf'");
    expect(ts).not.toMatch(/from '\.\.?\//);
    expect(ts).toMatch(/new TenantOauthSetting\(this, '\w+', \{ oauthEnabled: true \}\)/);
    expect((ts.match(/new OauthClient\(/g) ?? []).length).toBe((ts.match(/dependsOn: \[oauth\]/g) ?? []).length);
  });

  it('keeps the first two commands of the README', () => {
    const fences = [...README.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    expect(fences.slice(0, 2)).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
  });

  it('registers the apps on a fresh tenant', async () => {
    requireTerraform();
    requireBuiltProvider();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-walkthrough-'));
    const home = path.join(tmp, 'home');
    const checkout = path.join(tmp, 'appreg');
    fs.mkdirSync(home);
    fs.mkdirSync(checkout);
    const cliConfig = path.join(home, '.terraformrc');
    fs.writeFileSync(cliConfig, '');
    const npmCache = (await runProcess('npm', ['config', 'get', 'cache'])).stdout.trim();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      LANG: process.env.LANG ?? 'C.UTF-8',
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      CHECKPOINT_DISABLE: '1',
      npm_config_cache: npmCache,
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    const session = new Session(tmp, checkout, env);
    let token = '';
    /** The line as the test runs it (see the file comment for each change). */
    const adapt = (line: string): string => {
      let l = line
        .replace(/^npm ci && npm run build && /, '')
        .replace('"$PWD/bin:', `"${path.join(REPO_ROOT, 'bin')}:`)
        .replace(/\b8787\b/g, String(port))
        .replace(/^terraform apply$|&& terraform apply$/, (m) => `${m} -auto-approve`);
      if (/^npm run release$/.test(l)) l = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'scripts', 'release.js'))} --out release`;
      if (l.includes('<token from admin init>')) {
        expect(token).not.toBe('');
        l = l.replace('<token from admin init>', token);
      }
      return l;
    };
    try {
      let secret = '';
      for (const block of blocks) {
        if (block.kind === 'ts') {
          fs.writeFileSync(path.join(session.cwd, block.file!), `${block.text}\n`);
          continue;
        }
        for (const line of block.text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
          const r = await session.line(adapt(line));
          if (/^appreg admin init /.test(line)) token = (JSON.parse(r.stdout) as { token: string }).token;
          if (/^appreg serve /.test(line)) {
            // The next steps take seconds; still, wait for the service as a person would see it up.
            for (let i = 0; i < 100; i++) {
              if (await fetch(`http://127.0.0.1:${port}/healthz`).then((x) => x.ok, () => false)) break;
              await new Promise((res) => setTimeout(res, 100));
            }
          }
          if (/output -raw client_secret/.test(line)) secret = r.stdout;
        }
      }

      // The provider came from the release zip, through the mirror in HOME, and the lock file records it.
      const stack = session.cwd;
      expect(fs.readdirSync(path.join(home, '.terraform.d', 'plugins', 'registry.terraform.io', 'appreg', 'appreg'))).toEqual(['terraform-provider-appreg_0.1.0_linux_amd64.zip']);
      expect(fs.readFileSync(path.join(stack, '.terraform.lock.hcl'), 'utf8')).toMatch(/provider "registry\.terraform\.io\/appreg\/appreg" \{\n\s+version\s+= "0\.1\.0"/);

      const api = new AppregClient({ endpoint: `http://127.0.0.1:${port}`, token });
      try {
        expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
        const apps = await api.listAllApps();
        expect(apps.map((a) => a.name).sort()).toEqual(['Billing CLI', 'Billing Portal']);
        expect(apps.find((a) => a.name === 'Billing CLI')).toMatchObject({ public_client: true, require_pkce: true });
      } finally {
        api.close();
      }
      // The secret came out of the state: shown once by the service, and kept.
      expect(secret.length).toBeGreaterThanOrEqual(20);
    } finally {
      await session.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
