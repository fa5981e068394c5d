/**
 * Trial 1: `kill -9` of Terraform (and its provider) at a random moment of
 * an apply, then a normal apply, which must succeed and leave the service
 * and Terraform's state in agreement: no duplicate app, no app Terraform
 * does not know, every confidential client's secret in state accepted by the
 * service at the service's secret version.
 *
 * Two of three kills come after a random number of the service's creates or
 * rotations (where answers can be lost), the third at a random moment of the
 * whole apply. Each trial has a fresh workspace and a fresh group, so the counts are per
 * trial. Terraform keeps its state in an HTTP state backend served by the
 * trial (a save is atomic, as with every remote backend a pipeline uses);
 * with `localState` it is a local terraform.tfstate, which Terraform
 * rewrites in place, so a kill can cut the file itself. Every other trial first applies fully, then changes
 * `rotation_triggers` on every client and kills that apply (a rotation lost
 * half-way), then applies normally.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashCredential } from '../../src/server/crypto';
import {
  addGroup,
  type Evidence,
  Figures,
  firstError,
  makeTenant,
  progress,
  PROVIDER_PREAMBLE,
  type Rng,
  ServiceProcess,
  sleep,
  StateServer,
  tempDir,
  Workspace,
} from './common';
import { searchSqlite } from './leaks';

/** How big the trial is. */
export interface KillSizes {
  /** Clients in the configuration. */
  clients: number;
  /** Trials (each a kill and a follow-up apply). */
  trials: number;
  /**
   * Keep Terraform's state in a local terraform.tfstate instead of the trial's
   * HTTP state backend. Terraform rewrites that file in place, so a kill can
   * cut it (Terraform's own limitation, seen with any provider).
   */
  localState?: boolean;
}

/** The configuration: `n` clients in one group, mostly confidential; with `round`, rotation triggers on every client. */
export function killConfig(groupId: string, n: number, round?: string): string {
  const blocks: string[] = [PROVIDER_PREAMBLE];
  for (let j = 1; j <= n; j++) {
    const pub = j % 5 === 0;
    blocks.push(`resource "appreg_oauth_client" "c${j}" {
  group_id      = "${groupId}"
  name          = "Client ${j}"
  scope         = "${j % 4 === 0 ? 'organization' : 'group'}"
  callback_urls = ["https://app${j}.example.com/callback"${j % 3 === 0 ? ', "http://127.0.0.1:8400/cb"' : ''}]
${pub ? `  public_client = true\n${j % 10 === 0 ? '  grant_types   = ["device_code"]\n' : ''}` : ''}${round ? `  rotation_triggers = { round = "${round}" }\n` : ''}}
`);
  }
  return blocks.join('\n');
}

interface AppRow {
  id: string;
  name: string;
  public_client: number;
  secret_hash: string | null;
  secret_version: number;
}

/** The apps of a group, read from the SQLite file (read-only). */
function appsOfGroup(dbFile: string, groupId: string): AppRow[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, name, public_client, secret_hash, secret_version FROM apps WHERE group_id = ?').all(groupId) as AppRow[];
  } finally {
    db.close();
  }
}

/** What one trial found. */
export interface KillCounts {
  duplicates: number;
  orphans: number;
  versionMismatch: number;
  secretBad: number;
  stateWithoutApp: number;
  missingFromState: number;
}

/** Compares the state of a workspace with the service's apps of its group. */
export function compareKillState(
  n: number,
  rows: AppRow[],
  state: Array<{ type: string; values: Record<string, unknown> }> | undefined,
  evidence: Evidence,
): KillCounts {
  const c: KillCounts = { duplicates: 0, orphans: 0, versionMismatch: 0, secretBad: 0, stateWithoutApp: 0, missingFromState: 0 };
  const byName = new Map<string, number>();
  for (const r of rows) byName.set(r.name, (byName.get(r.name) ?? 0) + 1);
  const sameName = [...byName.values()].reduce((a, k) => a + Math.max(0, k - 1), 0);
  c.duplicates = Math.max(sameName, rows.length - n);
  const clients = (state ?? []).filter((r) => r.type === 'appreg_oauth_client');
  const inState = new Set(clients.map((r) => r.values.id as string));
  c.orphans = rows.filter((r) => !inState.has(r.id)).length;
  c.missingFromState = Math.max(0, n - clients.length);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const s of clients) {
    evidence.addSecret(s.values.client_secret);
    const row = byId.get(s.values.id as string);
    if (!row) {
      c.stateWithoutApp++;
      continue;
    }
    if (s.values.public_client === true) continue;
    if (s.values.secret_version !== row.secret_version) c.versionMismatch++;
    const secret = s.values.client_secret;
    if (typeof secret !== 'string' || row.secret_hash === null || hashCredential(secret) !== row.secret_hash) c.secretBad++;
  }
  return c;
}

/** Runs trial 1. */
export async function killTrial(sizes: KillSizes, evidence: Evidence, rng: Rng): Promise<Figures> {
  const f = new Figures('1 kill -9');
  const dir = tempDir('kill');
  const db = path.join(dir, 'appreg.db');
  const tenant = makeTenant(db, 'killtrials', [], evidence);
  const svc = await ServiceProcess.start(db);
  const states = await StateServer.start();
  const stateAt = (name: string): { stateAddress?: string } => (sizes.localState ? {} : { stateAddress: states.address(name) });
  const notes: string[] = [];
  let cutStateFiles = 0;
  try {
    const enable = await fetch(`${svc.url}/v1/tenant/oauth-settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tenant.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ oauth_enabled: true }),
    });
    if (enable.status !== 200) throw new Error(`enabling OAuth answered ${enable.status}: ${await enable.text()}`);

    // Calibration: uninterrupted creates and rotations of N clients. The first run of a
    // process is slower (cold caches), so the second of each is the typical time.
    let calibrationFailures = 0;
    let createMs = 0;
    let rotateMs = 0;
    for (let k = 0; k < 2; k++) {
      const calGroup = addGroup(db, tenant, `calibration ${k}`, evidence);
      const cal = new Workspace(dir, `calibration-${k}`, { endpoint: svc.url, token: tenant.adminToken, ...stateAt(`calibration-${k}`) });
      await cal.init();
      cal.write(killConfig(calGroup, sizes.clients));
      const c1 = await cal.apply();
      cal.write(killConfig(calGroup, sizes.clients, 'calibration'));
      const c2 = await cal.apply();
      for (const r of [c1, c2]) if (r.code !== 0) (calibrationFailures++, notes.push(`calibration: ${firstError(r)}`));
      if (c1.code === 0) createMs = c1.ms;
      if (c2.code === 0) rotateMs = c2.ms;
      compareKillState(sizes.clients, appsOfGroup(db, calGroup), await cal.stateResources(), evidence);
      cal.searchInto(evidence, `kill calibration ${k}`);
      cal.dispose();
    }
    createMs ||= 10_000;
    rotateMs ||= 10_000;
    progress(`kill: ${sizes.clients} clients apply in ${createMs} ms, rotate in ${rotateMs} ms (a third of the kills come at a random moment within that, the rest after a random number of writes)`);
    f.info('typical apply time (ms)', createMs, `rotation apply: ${rotateMs} ms`);

    const total: KillCounts = { duplicates: 0, orphans: 0, versionMismatch: 0, secretBad: 0, stateWithoutApp: 0, missingFromState: 0 };
    let followUpFailures = 0;
    let firstApplyFailures = 0;
    let landed = 0;
    let writesInKilled = 0;
    let trialsWithWrites = 0;
    let survivors = 0;
    for (let i = 0; i < sizes.trials; i++) {
      const rotation = i % 2 === 1;
      const groupId = addGroup(db, tenant, `kill ${i}`, evidence);
      const ws = new Workspace(dir, `trial-${i}`, { endpoint: svc.url, token: tenant.adminToken, ...stateAt(`trial-${i}`) });
      await ws.init();
      ws.write(killConfig(groupId, sizes.clients));
      if (rotation) {
        const first = await ws.apply();
        if (first.code !== 0) (firstApplyFailures++, notes.push(`trial ${i} first apply: ${firstError(first)}`));
        ws.write(killConfig(groupId, sizes.clients, `round ${i}`));
      }
      const logFrom = svc.logs().length;
      // Polled every few milliseconds during the apply: parse only this apply's part of the log.
      const writesSoFar = () => svc.requests(logFrom).filter((r) => r.method === 'POST' && r.status < 300).length;
      // Every third trial dies at a random moment of the whole apply (refresh and plan included);
      // the others after a random number of the service's creates or rotations, so that most kills
      // land where answers can be lost: a uniform moment mostly falls before the first write.
      const expected = rotation ? sizes.clients - Math.floor(sizes.clients / 5) : sizes.clients;
      const byTime = i % 3 === 2;
      const delay = Math.floor(rng.next() * (rotation ? rotateMs : createMs));
      const afterWrites = 1 + Math.floor(rng.next() * expected);
      const started = Date.now();
      const killed = await ws.apply(byTime ? { killAfterMs: delay } : { killWhen: () => writesSoFar() >= afterWrites });
      const killedAt = byTime ? `at ${String(delay).padStart(5)} ms` : `after write ${afterWrites} (${Date.now() - started} ms)`;
      await sleep(100); // the service's log lines of the last answers
      // Creates and rotations the service did for the killed apply: answers that may be lost.
      const writes = writesSoFar();
      writesInKilled += writes;
      if (writes > 0) trialsWithWrites++;
      const hit = killed.killed && killed.signal === 'SIGKILL';
      if (hit) landed++;
      survivors += killed.survivors;
      if (sizes.localState) {
        const file = path.join(ws.dir, 'terraform.tfstate');
        let readable = false;
        try {
          readable = Array.isArray((JSON.parse(fs.readFileSync(file, 'utf8')) as { resources?: unknown }).resources);
        } catch {
          readable = false;
        }
        if (!readable && fs.existsSync(file)) {
          cutStateFiles++;
          notes.push(`trial ${i}: the kill left terraform.tfstate unreadable (${fs.statSync(file).size} bytes): Terraform rewrites it in place`);
        }
      }
      const follow = await ws.apply();
      if (follow.code !== 0) {
        followUpFailures++;
        notes.push(`trial ${i} (${rotation ? 'rotation' : 'create'}, killed ${killedAt}) follow-up apply: ${firstError(follow)}`);
      }
      const counts = compareKillState(sizes.clients, appsOfGroup(db, groupId), await ws.stateResources(), evidence);
      for (const k of Object.keys(total) as Array<keyof KillCounts>) total[k] += counts[k];
      progress(
        `kill ${i + 1}/${sizes.trials} ${rotation ? 'rotation' : 'create  '} killed ${killedAt}${hit ? '' : ' (had finished)'} after ${writes} ${rotation ? 'rotations' : 'creates'}: ` +
          `follow-up ${follow.code === 0 ? 'ok' : 'FAILED'}; ${JSON.stringify(counts)}`,
      );
      ws.searchInto(evidence, `kill trial ${i}`);
      ws.dispose();
    }

    f.must('duplicates', total.duplicates);
    f.must('orphans (apps not in state)', total.orphans);
    f.must('secret_version differs', total.versionMismatch);
    f.must('secret missing or refused', total.secretBad);
    f.must('follow-up apply failures', followUpFailures);
    f.must('state entries without an app', total.stateWithoutApp);
    f.must('declared clients missing from state', total.missingFromState);
    f.must('uninterrupted apply failures', calibrationFailures + firstApplyFailures);
    f.must('processes left in a killed group', survivors);
    f.info('trials', sizes.trials, `${sizes.clients} clients each, every other one a rotation`);
    f.info('kills that landed during the apply', landed);
    f.info('kills after the service had created or rotated', trialsWithWrites, `${writesInKilled} creates and rotations done for killed applies`);
    if (sizes.localState) f.info('kills that cut the local terraform.tfstate', cutStateFiles, 'a Terraform limitation, not appreg');
    else f.info('state saves cut off by a kill (previous state kept)', states.cutSaves, `HTTP state backend, ${states.saves} complete saves`);
    f.notes.push(...notes);
  } finally {
    searchSqlite(evidence, 'kill', db);
    evidence.search('service log', 'kill service', svc.logs());
    await svc.stop();
    await states.close();
  }
  return f;
}
