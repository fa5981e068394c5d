/**
 * What every trial needs: where the appreg under test is, a registration
 * service run as a child process (so a crash is seen as a crash), operator
 * commands, a Terraform working directory whose runs can be killed with
 * SIGKILL as a whole process group, a seeded random source, progress output,
 * and the evidence (secrets seen, texts and files to search for them later).
 *
 * Everything listens on and talks to 127.0.0.1 only.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

// ------------------------------------------------------------------ where things are

function findRepoRoot(from: string): string {
  // This file runs from scripts/trials (ts-jest) or from dist/scripts/trials (node):
  // the checkout is the nearest folder up whose package.json is appreg's.
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    // dist/ holds a copy of package.json, but no tsconfig.json.
    if (fs.existsSync(pkg) && fs.existsSync(path.join(dir, 'tsconfig.json'))) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'appreg') return dir;
      } catch {
        // not ours
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no appreg checkout above ${from}`);
    dir = up;
  }
}

/** This checkout. */
export const REPO_ROOT = findRepoRoot(__dirname);

/**
 * The appreg under test: its `bin/` and `dist/` are what the trials run
 * (service, operator commands, provider). This checkout unless
 * `APPREG_TRIALS_ROOT` names another built checkout (e.g. an older commit,
 * to measure a baseline).
 */
export function targetRoot(): string {
  return path.resolve(process.env.APPREG_TRIALS_ROOT ?? REPO_ROOT);
}

/** Throws a message that says what to do when something the trials run is missing. */
export function requirePrerequisites(): { terraform: string } {
  const root = targetRoot();
  for (const f of ['dist/src/cli/main.js', 'dist/src/provider/main.js', 'bin/terraform-provider-appreg']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${path.join(root, f)} is missing: build with 'npx tsc -p tsconfig.json' first`);
  }
  let terraform: string;
  try {
    terraform = execFileSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' } }).split('\n')[0]!;
  } catch {
    throw new Error('terraform is not on PATH: the trials need Terraform 1.11 or newer.');
  }
  return { terraform };
}

// ------------------------------------------------------------------ progress, time, random

let quiet = false;
/** Silences progress output (jest keeps its own). */
export function setQuiet(q: boolean): void {
  quiet = q;
}

/** One line of progress on stderr. */
export function progress(msg: string): void {
  if (!quiet) process.stderr.write(`[trials ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A seed from the environment (`APPREG_TRIALS_SEED`) or the clock. */
export function seedFromEnv(): number {
  const s = process.env.APPREG_TRIALS_SEED;
  return s !== undefined && /^\d+$/.test(s) ? Number(s) % 2 ** 32 : Date.now() % 2 ** 32;
}

// ------------------------------------------------------------------ figures

/** One figure of the table. */
export interface Figure {
  trial: string;
  figure: string;
  value: number;
  /** True when the figure must be 0. */
  required: boolean;
  note?: string;
}

/** Figures a trial reports, in order. */
export class Figures {
  readonly list: Figure[] = [];
  /** What a reader should know about non-zero figures (first errors, seeds). */
  readonly notes: string[] = [];
  constructor(readonly trial: string) {}
  must(figure: string, value: number, note?: string): void {
    this.list.push({ trial: this.trial, figure, value, required: true, ...(note ? { note } : {}) });
  }
  info(figure: string, value: number, note?: string): void {
    this.list.push({ trial: this.trial, figure, value, required: false, ...(note ? { note } : {}) });
  }
}

/** The table, as markdown. */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => `| ${f.trial} | ${f.figure}${f.required ? '' : ' (info)'} | ${f.value}${f.required && f.value !== 0 ? ' **FAIL**' : ''} |${f.note ? ` ${f.note.replace(/\|/g, '/')} |` : ' |'}`);
  return ['| trial | figure | value | note |', '|---|---|---|---|', ...rows].join('\n');
}

// ------------------------------------------------------------------ evidence (trial 4 searches it)

/** Where a text came from, for the leak search. */
export type ArtifactKind = 'service log' | 'terraform log' | 'terraform output' | 'provider stderr' | 'audit log' | 'database file';

/** A place a leaked secret was found. */
export interface Leak {
  kind: ArtifactKind;
  label: string;
  /** A redacted hint of what was found (never the secret itself). */
  what: string;
}

/** Characters of a secret or token after its prefix (32 random bytes, base64url). */
const BODY = 43;
const SECRET_SHAPES = [/(?<![A-Za-z0-9_-])ars_[A-Za-z0-9_-]{43}/g, /(?<![A-Za-z0-9_-])art_[A-Za-z0-9_-]{43}/g];

/**
 * Every secret and token the trials saw, and the search for them. Texts are
 * searched when they are complete (a trial's end), so big Terraform logs need
 * not be kept: a secret is known by the end of the trial that made it, and
 * the shapes of secrets and tokens (`ars_…`, `art_…`) are searched too, which
 * also finds secrets nobody recorded (an answer lost to a killed process).
 */
export class Evidence {
  readonly secrets = new Set<string>();
  readonly leaks: Leak[] = [];
  /** Findings worth a sentence in the report. */
  readonly notes: string[] = [];
  /** How much was searched, per kind. */
  readonly searched: Record<string, { items: number; bytes: number }> = {};

  addSecret(s: unknown): void {
    if (typeof s === 'string' && s.length >= 16) this.secrets.add(s);
  }

  /** Finds secrets in a text now. */
  search(kind: ArtifactKind, label: string, text: string): void {
    const seen = (this.searched[kind] ??= { items: 0, bytes: 0 });
    seen.items++;
    seen.bytes += text.length;
    if (text.length === 0) return;
    const found = new Set<string>();
    for (const re of SECRET_SHAPES) for (const m of text.matchAll(re)) found.add(m[0]);
    // Known secrets, also without their prefix (re-encoded, cut): every window of
    // every run of base64url characters is looked up, one pass over the text.
    const bodies = new Map<string, string>();
    const odd: string[] = [];
    for (const s of this.secrets) {
      const body = s.replace(/^ar[st]_/, '');
      if (body.length === BODY) bodies.set(body, s);
      else odd.push(s);
    }
    if (bodies.size > 0) {
      for (const m of text.matchAll(/[A-Za-z0-9_-]{43,}/g)) {
        const run = m[0];
        for (let i = 0; i + BODY <= run.length; i++) {
          const s = bodies.get(run.slice(i, i + BODY));
          if (s !== undefined) found.add(s);
        }
      }
    }
    for (const s of odd) if (text.includes(s)) found.add(s);
    for (const f of found) {
      this.leaks.push({ kind, label, what: `${f.slice(0, 6)}…(${f.length} chars)${this.secrets.has(f) ? ', a known secret' : ', secret-shaped'}` });
    }
  }

  /** Finds secrets in a file now (read as latin1, so binary files work). */
  searchFile(kind: ArtifactKind, label: string, file: string): void {
    if (!fs.existsSync(file)) return;
    const size = fs.statSync(file).size;
    if (size <= 256 * 1024 * 1024) {
      this.search(kind, label, fs.readFileSync(file, 'latin1'));
      return;
    }
    // Very big files: in overlapping chunks.
    const fd = fs.openSync(file, 'r');
    try {
      const chunk = 64 * 1024 * 1024;
      const buf = Buffer.alloc(chunk + 256);
      for (let pos = 0; pos < size; pos += chunk) {
        const n = fs.readSync(fd, buf, 0, chunk + 256, pos);
        this.search(kind, `${label}@${pos}`, buf.subarray(0, n).toString('latin1'));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

// ------------------------------------------------------------------ temporary folders

const tempDirs: string[] = [];
/** A temporary folder removed by {@link cleanupTemp} (unless APPREG_TRIALS_KEEP is set). */
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `appreg-trials-${prefix}-`));
  tempDirs.push(d);
  return d;
}
export function cleanupTemp(): void {
  if (process.env.APPREG_TRIALS_KEEP) {
    progress(`kept temporary folders: ${tempDirs.join(' ')}`);
    return;
  }
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

// ------------------------------------------------------------------ processes

/** Process groups started detached that are still running; killed if we exit early. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

/** The result of a program run. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when we killed it (it may have finished just before). */
  killed: boolean;
  /** Processes of its group still alive right after it ended (should be none). */
  survivors: number;
}

/** Pids of a process group that are still alive (zombies excluded). */
export function groupMembers(pgid: number): number[] {
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 3 && Number(f[1]) === pgid && !f[2]!.startsWith('Z'))
      .map((f) => Number(f[0]));
  } catch {
    return [];
  }
}

/** When a run's process group gets SIGKILL: after a time, or as soon as a condition holds (polled every 5 ms). */
export interface KillAt {
  killAfterMs?: number;
  killWhen?: () => boolean;
}

/**
 * Runs a program in its own process group. With `killAfterMs` or `killWhen`
 * the whole group (Terraform and its provider children) gets SIGKILL.
 */
export function runGroup(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } & KillAt): Promise<Run> {
  installExitHook();
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pgid = child.pid!;
    liveGroups.add(pgid);
    let stdout = '';
    let stderr = '';
    let killed = false;
    const kill = (): void => {
      killed = true;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timers: NodeJS.Timeout[] = [];
    if (opts.killAfterMs !== undefined) timers.push(setTimeout(kill, opts.killAfterMs));
    const when = opts.killWhen;
    if (when) {
      const poll = setInterval(() => {
        if (!killed && when()) kill();
      }, 5);
      timers.push(poll);
    }
    // A hard bound on every run, so no trial can hang.
    timers.push(setTimeout(kill, opts.timeoutMs ?? 10 * 60_000));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      timers.forEach((t) => clearTimeout(t));
      liveGroups.delete(pgid);
      reject(e);
    });
    child.on('close', async (code, signal) => {
      timers.forEach((t) => clearTimeout(t));
      const ms = Date.now() - started;
      let survivors = groupMembers(pgid);
      if (survivors.length > 0) {
        // Give SIGKILLed children a moment to be reaped before calling them survivors.
        await sleep(300);
        survivors = groupMembers(pgid);
      }
      if (survivors.length > 0) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      liveGroups.delete(pgid);
      resolve({ code, signal, stdout, stderr, ms, killed, survivors: survivors.length });
    });
  });
}

/** Runs an appreg command of the checkout under test and parses its JSON output. */
export function appregCli<T>(args: readonly string[]): T {
  const out = execFileSync(process.execPath, [path.join(targetRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as T;
}

/** A tenant with groups and tokens, made with the operator commands. */
export interface Tenant {
  name: string;
  id: string;
  adminToken: string;
  groups: Record<string, string>;
  groupTokens: Record<string, string>;
  auditorToken: string;
}

/** `appreg admin init` plus groups, a group_admin token per group and an auditor token; every token goes into the evidence. */
export function makeTenant(db: string, name: string, groups: readonly string[], evidence: Evidence, opts: { sso?: boolean } = {}): Tenant {
  const init = appregCli<{ tenant_id: string; token: string }>(['admin', 'init', '--db', db, '--tenant', name, ...(opts.sso ? ['--sso'] : [])]);
  evidence.addSecret(init.token);
  const t: Tenant = { name, id: init.tenant_id, adminToken: init.token, groups: {}, groupTokens: {}, auditorToken: '' };
  for (const g of groups) addGroup(db, t, g, evidence, true);
  t.auditorToken = appregCli<{ token: string }>(['admin', 'token', 'create', '--db', db, '--tenant', name, '--role', 'auditor']).token;
  evidence.addSecret(t.auditorToken);
  return t;
}

/** Adds a group (and optionally a group_admin token) to a tenant. */
export function addGroup(db: string, t: Tenant, group: string, evidence: Evidence, withToken = false): string {
  t.groups[group] = appregCli<{ group_id: string }>(['admin', 'group', 'add', '--db', db, '--tenant', t.name, '--name', group]).group_id;
  if (withToken) {
    t.groupTokens[group] = appregCli<{ token: string }>(['admin', 'token', 'create', '--db', db, '--tenant', t.name, '--role', 'group_admin', '--group', group]).token;
    evidence.addSecret(t.groupTokens[group]);
  }
  return t.groups[group]!;
}

// ------------------------------------------------------------------ the service as a child process

/** `appreg serve` running as a child process. */
export class ServiceProcess {
  private logText = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
    readonly db: string,
    logSoFar: string,
  ) {
    this.logText = logSoFar;
    proc.stderr!.on('data', (d: Buffer) => (this.logText += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => (this.logText += d.toString()));
    proc.on('exit', (code, signal) => (this.exit = { code, signal }));
  }

  /** Starts `appreg serve --db <db> --host 127.0.0.1 --port 0`. */
  static start(db: string, opts: { rateLimit?: number } = {}): Promise<ServiceProcess> {
    const args = [path.join(targetRoot(), 'dist', 'src', 'cli', 'main.js'), 'serve', '--db', db, '--host', '127.0.0.1', '--port', '0'];
    if (opts.rateLimit !== undefined) args.push('--rate-limit', String(opts.rateLimit));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => fail('no "listening" line within 30 s'), 30_000);
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`appreg serve: ${why}\n${log}`));
      };
      const onData = (d: Buffer): void => {
        log += d.toString();
        const m = /appreg serve listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          child.off('exit', onExit);
          resolve(new ServiceProcess(child, m[1]!, db, log));
        }
      };
      const onExit = (code: number | null): void => fail(`exited (${code}) before listening`);
      child.stderr!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** Everything it logged (JSON lines on stderr). */
  logs(): string {
    return this.logText;
  }

  /** The request lines of its log, from character `since` of it on (see {@link logs}). */
  requests(since = 0): Array<{ method: string; path: string; status: number }> {
    const out: Array<{ method: string; path: string; status: number }> = [];
    for (const line of this.logText.slice(since).split('\n')) {
      if (!line.includes('"msg":"request"')) continue;
      try {
        const j = JSON.parse(line) as { method: string; path: string; status: number };
        out.push({ method: j.method, path: j.path, status: j.status });
      } catch {
        // a partial line
      }
    }
    return out;
  }

  /** Undefined while running; how it ended otherwise. */
  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  /** True when GET /healthz answers 200 within 5 s. */
  async healthy(): Promise<boolean> {
    if (this.exit) return false;
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.text();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exit) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  }
}

// ------------------------------------------------------------------ Terraform

/** The start of every trial configuration. */
export const PROVIDER_PREAMBLE = `terraform {
  required_providers {
    appreg = { source = "appreg/appreg" }
  }
}
provider "appreg" {}
`;

let mirror: string | undefined;
/**
 * A filesystem mirror holding a wrapper of the provider under test, so that
 * `terraform init` works offline. Runs use dev_overrides all the same.
 */
function providerMirror(): string {
  if (mirror) return mirror;
  const dir = tempDir('mirror');
  const version = (JSON.parse(fs.readFileSync(path.join(targetRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const at = path.join(dir, 'registry.terraform.io', 'appreg', 'appreg', version, platform);
  fs.mkdirSync(at, { recursive: true });
  fs.writeFileSync(path.join(at, `terraform-provider-appreg_v${version}`), `#!/bin/sh\nexec ${JSON.stringify(path.join(targetRoot(), 'bin', 'terraform-provider-appreg'))} "$@"\n`, { mode: 0o755 });
  mirror = dir;
  return dir;
}

/**
 * Terraform's HTTP state backend, served by the trial on 127.0.0.1. A state
 * is replaced only by a complete POST whose Content-MD5 matches, so a
 * Terraform killed while saving leaves the previous state, as with every
 * remote backend (S3, GCS, Terraform Cloud); no locking is configured.
 */
export class StateServer {
  readonly states = new Map<string, Buffer>();
  /** Saves received, and saves cut off (not stored). */
  saves = 0;
  cutSaves = 0;
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<StateServer> {
    let self: StateServer | undefined;
    const server = http.createServer((req, res) => {
      const key = req.url ?? '/';
      const chunks: Buffer[] = [];
      let complete = false;
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        complete = true;
        const s = self!;
        if (req.method === 'GET') {
          const st = s.states.get(key);
          if (!st) return void res.writeHead(404).end();
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(st);
        }
        if (req.method === 'POST') {
          const body = Buffer.concat(chunks);
          const md5 = req.headers['content-md5'];
          const expected = Number(req.headers['content-length'] ?? body.length);
          if (body.length !== expected || (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5)) {
            s.cutSaves++;
            return void res.writeHead(400).end('incomplete state');
          }
          s.saves++;
          s.states.set(key, body);
          return void res.writeHead(200).end();
        }
        if (req.method === 'DELETE') {
          s.states.delete(key);
          return void res.writeHead(200).end();
        }
        res.writeHead(405).end();
      });
      req.on('close', () => {
        if (!complete && req.method === 'POST' && self) self.cutSaves++;
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new StateServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** The address of a named state. */
  address(name: string): string {
    return `${this.url}/state/${encodeURIComponent(name)}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * A Terraform working directory using the provider of the checkout under
 * test (dev_overrides, no init), with TF_LOG=trace. Every run's output goes
 * to the evidence when the workspace is searched.
 */
export class Workspace {
  readonly dir: string;
  env: NodeJS.ProcessEnv;
  readonly logPath: string;
  /** stdout and stderr of every command run here. */
  readonly outputs: string[] = [];

  /** The address of the HTTP state backend, when the state is not a local file. */
  readonly stateAddress: string | undefined;

  /**
   * @param vars.stateAddress keep the state in the trial's HTTP state backend
   *   at this address (atomic writes, as every remote backend) instead of a
   *   local terraform.tfstate (which Terraform rewrites in place); needs {@link init}
   */
  constructor(parent: string, name: string, vars: { endpoint: string; token: string; stateAddress?: string }) {
    this.dir = path.join(parent, name);
    this.stateAddress = vars.stateAddress;
    fs.mkdirSync(this.dir, { recursive: true });
    const cliConfig = path.join(this.dir, '.terraformrc');
    // dev_overrides runs this checkout's provider; the filesystem mirror only lets
    // `terraform init` (needed for a backend) finish without a registry.
    fs.writeFileSync(
      cliConfig,
      `provider_installation {\n  dev_overrides {\n    "appreg/appreg" = ${JSON.stringify(path.join(targetRoot(), 'bin'))}\n  }\n` +
        `  filesystem_mirror {\n    path    = ${JSON.stringify(providerMirror())}\n    include = ["appreg/appreg"]\n  }\n}\n`,
    );
    if (vars.stateAddress) fs.writeFileSync(path.join(this.dir, 'backend.tf'), 'terraform {\n  backend "http" {}\n}\n');
    this.logPath = path.join(this.dir, 'terraform.log');
    this.env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      TF_LOG: 'trace',
      TF_LOG_PATH: this.logPath,
      APPREG_ENDPOINT: vars.endpoint,
      APPREG_TOKEN: vars.token,
    };
  }

  /** `terraform init` for the HTTP state backend (nothing to do for a local state). */
  async init(): Promise<void> {
    if (!this.stateAddress) return;
    const r = await this.run(['init', '-no-color', '-input=false', `-backend-config=address=${this.stateAddress}`]);
    if (r.code !== 0) throw new Error(`terraform init failed: ${firstError(r)}`);
  }

  write(hcl: string): void {
    fs.writeFileSync(path.join(this.dir, 'main.tf'), hcl);
  }

  /** Runs `terraform <args>`; never throws on a non-zero exit. */
  async run(args: string[], opts: KillAt & { endpoint?: string; showsState?: boolean } = {}): Promise<Run> {
    const env = opts.endpoint ? { ...this.env, APPREG_ENDPOINT: opts.endpoint } : this.env;
    const r = await runGroup('terraform', args, {
      cwd: this.dir,
      env,
      ...(opts.killAfterMs !== undefined ? { killAfterMs: opts.killAfterMs } : {}),
      ...(opts.killWhen !== undefined ? { killWhen: opts.killWhen } : {}),
    });
    // `terraform show -json` prints the state with its sensitive values by design:
    // only its stderr is output a user would see in a pipeline log.
    this.outputs.push(`$ terraform ${args.join(' ')}\n${opts.showsState ? '' : r.stdout}\n${r.stderr}`);
    return r;
  }

  apply(opts: KillAt & { endpoint?: string } = {}): Promise<Run> {
    return this.run(['apply', '-auto-approve', '-no-color', '-input=false'], opts);
  }

  /** The resources in state (`terraform show -json`), or undefined when it cannot be read. */
  async stateResources(opts: { endpoint?: string } = {}): Promise<Array<{ address: string; type: string; values: Record<string, unknown> }> | undefined> {
    const r = await this.run(['show', '-json', '-no-color'], { ...opts, showsState: true });
    if (r.code !== 0) return undefined;
    try {
      const j = JSON.parse(r.stdout) as { values?: { root_module?: { resources?: Array<{ address: string; mode?: string; type: string; values: Record<string, unknown> }> } } };
      return (j.values?.root_module?.resources ?? []).filter((x) => x.mode !== 'data');
    } catch {
      return undefined;
    }
  }

  /** Searches this workspace's outputs and logs, then forgets the outputs. */
  searchInto(evidence: Evidence, label: string): void {
    evidence.searchFile('terraform log', `${label} terraform.log`, this.logPath);
    evidence.search('terraform output', `${label} outputs`, this.outputs.join('\n'));
    this.outputs.length = 0;
  }

  /** Removes the folder (after it was searched). */
  dispose(): void {
    if (!process.env.APPREG_TRIALS_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The first error lines of a Terraform run, for notes. */
export function firstError(r: Run): string {
  const text = `${r.stderr}\n${r.stdout}`;
  const i = text.indexOf('Error:');
  return (i >= 0 ? text.slice(i, i + 400) : text.slice(-400)).replace(/\s+/g, ' ').trim();
}
