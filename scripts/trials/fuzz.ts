/**
 * Trial 3: random and hostile input.
 *
 * a) fast-check configurations of `appreg_oauth_client` and
 *    `appreg_app_consent` through the real provider executable's
 *    ValidateResourceConfig and PlanResourceChange (the provider configured
 *    against a real service, as Terraform does it). Values are what Terraform
 *    can send: any value of the attribute's type, null for optional
 *    attributes, unknown anywhere. Counted: crashes (an RPC error or hang,
 *    the provider process dying, a diagnostic that calls itself a bug or an
 *    internal error), error diagnostics without an attribute path, plans
 *    Terraform would reject, and writes the service received meanwhile.
 * b) random and malformed HTTP requests straight to the service (SQLite, and
 *    PostgreSQL when asked): 5xx answers, and crashes (the process gone, or
 *    /healthz not answering).
 */
import fc from 'fast-check';
import Database from 'better-sqlite3';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { ProviderHarness, proposedNewState } from '../../test/support/plugin-harness';
import { Unknown, isUnknown, type Diagnostic, type SchemaBlockJson, type TfValue } from '../../src/tfplugin/types';
import { valueEquals } from '../../src/tfplugin/values';
import { type Evidence, Figures, makeTenant, progress, Rng, ServiceProcess, sleep, targetRoot, tempDir, type Tenant } from './common';
import { searchPostgres, searchSqlite } from './leaks';

/** How big the trial is. */
export interface FuzzSizes {
  /** Configurations through the provider. */
  configs: number;
  /** HTTP requests per database. */
  requests: number;
  /** Also run the HTTP requests against PostgreSQL. */
  postgres: boolean;
}

const U = Unknown.value;

// ------------------------------------------------------------------ shared setup

interface Fixture {
  svc: ServiceProcess;
  tenant: Tenant;
  other: Tenant;
  /** App ids by role: org (alpha, organization), grp (alpha, group), betaOrg, pub (public), otherTenant. */
  apps: Record<string, string>;
}

async function call(url: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A service with two tenants, three groups and a few apps, made through the API. */
async function fixture(db: string, evidence: Evidence): Promise<Fixture> {
  const tenant = makeTenant(db, 'fuzz', ['alpha', 'beta', 'gamma'], evidence);
  const other = makeTenant(db, 'other', ['elsewhere'], evidence);
  const svc = await ServiceProcess.start(db, { rateLimit: 0 });
  const apps: Record<string, string> = {};
  for (const t of [tenant, other]) {
    const r = await call(svc.url, t.adminToken, 'PUT', '/v1/tenant/oauth-settings', { oauth_enabled: true });
    if (r.status !== 200) throw new Error(`enable OAuth: ${r.status}`);
  }
  const make = async (t: Tenant, key: string, group: string, body: Record<string, unknown>): Promise<void> => {
    const r = await call(svc.url, t.adminToken, 'POST', `/v1/groups/${t.groups[group]}/apps`, body);
    if (r.status !== 201) throw new Error(`create ${key}: ${r.status} ${JSON.stringify(r.json)}`);
    apps[key] = r.json.id as string;
    evidence.addSecret(r.json.client_secret);
  };
  await make(tenant, 'org', 'alpha', { name: 'Org App', scope: 'organization', callback_urls: ['https://org.example.com/cb'] });
  await make(tenant, 'grp', 'alpha', { name: 'Group App', scope: 'group', callback_urls: ['https://grp.example.com/cb'] });
  await make(tenant, 'betaOrg', 'beta', { name: 'Beta Org', scope: 'organization', callback_urls: ['https://beta.example.com/cb'] });
  await make(tenant, 'pub', 'beta', { name: 'Public One', scope: 'group', public_client: true, callback_urls: ['http://127.0.0.1:9000/cb'] });
  await make(other, 'otherTenant', 'elsewhere', { name: 'Other Tenant', scope: 'organization', callback_urls: ['https://other.example.com/cb'] });
  const c = await call(svc.url, tenant.adminToken, 'PUT', `/v1/groups/${tenant.groups.gamma}/consents/${apps.org}`);
  if (c.status !== 201) throw new Error(`consent: ${c.status}`);
  return { svc, tenant, other, apps };
}

// ------------------------------------------------------------------ a) provider configurations

const HOSTILE_STRINGS = [
  '', ' ', '  ', '\t', '\n', '\u0000', 'a\u0000b', '\u202eevil', '\ud83d\ude00', 'é', 'Ａｐｐ', '../../etc/passwd', '%00', '%2e%2e%2f',
  "Robert'); DROP TABLE apps;--", '${jndi:ldap://127.0.0.1/x}', '{{7*7}}', '<script>alert(1)</script>', '"quoted"', '\\', 'null', 'undefined',
  '__proto__', 'constructor', 'a'.repeat(101), 'a'.repeat(5000), 'x '.repeat(60), 'Name?!', 'two  spaces', ' lead', 'trail ',
];

const HOSTILE_URLS = [
  'javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'http://evil.example.com/cb', 'ftp://x.example.com/cb',
  'https://user:pw@x.example.com/cb', 'https://x.example.com/cb#frag', 'https://x.example.com/cb#', 'https://[::1]:99999/', 'https://xn--.io/cb',
  'HTTPS://EXAMPLE.COM/CB', 'https://example.com/\u0000', 'https://ex ample.com/', `https://example.com/${'a'.repeat(2100)}`, '//example.com/cb',
  'https:example.com', 'http://127.0.0.1.evil.com/', 'http://localhost.evil.com/', 'http://0x7f000001/', 'http://[::ffff:127.0.0.1]/cb',
  'http://2130706433/', 'http://127.1/', 'http://localhost./cb', 'http://LOCALHOST/cb', 'https://example.com/%2e%2e/', ' https://example.com/cb',
  'https://example.com/cb ', 'https://ex\u202eample.com/', 'https://例え.jp/cb', 'https://xn--r8jz45g.jp/cb', 'https://example.com:0/', 'https://example.com:65536/',
  'https://example.com/\r\nSet-Cookie: a=b', 'https://@example.com/', 'https://:@example.com/', 'https://example.com\\@evil.com/', 'http://[::1]/cb', 'http://[::1]:8080/cb',
  'https://a.example/?q=1&r=2', 'https://', 'https:///cb', '', 'not a url', 'mailto:a@b.c', 'https://127.0.0.1/cb', 'http://127.0.0.1:0/cb',
];

const word = fc.stringMatching(/^[A-Za-z0-9?!]{1,12}$/);
const validName = fc.array(word, { minLength: 1, maxLength: 5 }).map((ws) => ws.join(' ')).filter((n) => n.length <= 100);
const host = fc.stringMatching(/^[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,5})?\.(com|example|io)$/);
const validUrl = fc.oneof(
  fc.tuple(host, fc.stringMatching(/^[a-z0-9/_-]{0,20}$/)).map(([h, p]) => `https://${h}/${p}`),
  fc.tuple(fc.constantFrom('localhost', '127.0.0.1', '[::1]'), fc.integer({ min: 1, max: 65535 })).map(([h, port]) => `http://${h}:${port}/cb`),
);
const anyUrl = fc.oneof({ weight: 6, arbitrary: validUrl }, { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_URLS) }, { weight: 1, arbitrary: fc.webUrl({ withFragments: true, withQueryParameters: true }) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
const urlSet = fc
  .tuple(fc.uniqueArray(anyUrl, { minLength: 0, maxLength: 70 }), fc.nat({ max: 2 }))
  .map(([urls, unknowns]): TfValue => [...urls, ...Array.from({ length: unknowns }, () => U)]);
const orUnknown = <T extends TfValue>(a: fc.Arbitrary<T>): fc.Arbitrary<TfValue> => fc.oneof({ weight: 9, arbitrary: a as fc.Arbitrary<TfValue> }, { weight: 1, arbitrary: fc.constant<TfValue>(U) });
const optional = <T extends TfValue>(a: fc.Arbitrary<T>): fc.Arbitrary<TfValue> => fc.oneof({ weight: 3, arbitrary: orUnknown(a) }, { weight: 1, arbitrary: fc.constant<TfValue>(null) });
const anyString = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'grapheme', maxLength: 20 }));
const bool = fc.boolean();

function clientConfig(ids: { groups: string[]; apps: string[] }): fc.Arbitrary<Record<string, TfValue>> {
  return fc.record({
    group_id: orUnknown(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids.groups) }, { weight: 1, arbitrary: anyString })),
    name: orUnknown(fc.oneof({ weight: 3, arbitrary: validName }, { weight: 2, arbitrary: anyString })),
    description: optional(fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('', 'x'.repeat(1001), '\u0000'), anyString)),
    callback_urls: fc.oneof({ weight: 9, arbitrary: urlSet }, { weight: 1, arbitrary: fc.constant<TfValue>(U) }),
    scope: orUnknown(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('group', 'organization') }, { weight: 1, arbitrary: fc.constantFrom('tenant', '', 'GROUP', 'Organization', ' group') }, { weight: 1, arbitrary: anyString })),
    grant_types: optional(
      fc
        .tuple(fc.uniqueArray(fc.constantFrom('authorization_code', 'device_code', 'implicit', 'client_credentials', 'password', '', 'AUTHORIZATION_CODE'), { maxLength: 4 }), fc.nat({ max: 1 }))
        .map(([g, u]): TfValue => [...g, ...(u ? [U] : [])]),
    ),
    public_client: optional(bool),
    require_pkce: optional(bool),
    enabled: optional(bool),
    rotation_triggers: optional(fc.dictionary(fc.oneof({ weight: 30, arbitrary: fc.string({ maxLength: 10 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString') }), orUnknown(fc.string({ maxLength: 20 })), { maxKeys: 4 }) as fc.Arbitrary<TfValue>),
    // Computed-only attributes: Terraform sends null, but a user may set them (and must be told at the attribute).
    id: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: fc.constantFrom<TfValue>(...ids.apps, 'app_x') }),
    client_id: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: anyString as fc.Arbitrary<TfValue> }),
    client_secret: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: anyString as fc.Arbitrary<TfValue> }),
    secret_version: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: fc.constantFrom<TfValue>(0, -1, 1.5, 1e300) }),
    created_at: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: anyString as fc.Arbitrary<TfValue> }),
  });
}

function consentConfig(ids: { groups: string[]; apps: string[] }): fc.Arbitrary<Record<string, TfValue>> {
  const hostileIds = ['', ' ', '/', 'a/b', '..', '../../v1/tenant/oauth-settings', '%2F', 'app_x/rotate-secret', '?x=1', '#', 'app_' + '0'.repeat(26), 'app_' + 'z'.repeat(300), '\u0000', 'ünïcode', 'app_0000000000000000000000000%'];
  return fc.record({
    group_id: orUnknown(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids.groups) }, { weight: 1, arbitrary: fc.constantFrom(...hostileIds) }, { weight: 1, arbitrary: anyString })),
    app_id: orUnknown(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids.apps) }, { weight: 2, arbitrary: fc.constantFrom(...hostileIds) }, { weight: 1, arbitrary: anyString })),
    id: fc.oneof({ weight: 19, arbitrary: fc.constant<TfValue>(null) }, { weight: 1, arbitrary: anyString as fc.Arbitrary<TfValue> }),
    created_at: fc.constant<TfValue>(null),
  });
}

/** Fills attributes of the schema the generator does not know (a newer provider) with null. */
function complete(block: SchemaBlockJson, v: Record<string, TfValue>): Record<string, TfValue> {
  const out: Record<string, TfValue> = {};
  for (const name of Object.keys(block.attributes ?? {})) out[name] = v[name] ?? null;
  return out;
}

const SAYS_BUG = /internal error|this is a bug|please report|unexpected error|TypeError|ReferenceError|Cannot read propert|is not a function|undefined is not/i;

/** Terraform's check of a plan: every configured value planned as configured. */
function invalidPlan(block: SchemaBlockJson, config: Record<string, TfValue>, planned: TfValue): string | undefined {
  if (typeof planned !== 'object' || planned === null || Array.isArray(planned) || isUnknown(planned)) return 'planned state is not an object';
  const p = planned as Record<string, TfValue>;
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    const cv = config[name] ?? null;
    if (attr.computed && cv === null) continue;
    if (!valueEquals(attr.type, cv, p[name] ?? null)) return `planned ${name} differs from its configured value`;
  }
  return undefined;
}

/** A configuration as text for notes: unknowns shown as (unknown), long strings cut. */
function show(v: TfValue): string {
  const cut = (x: unknown): unknown => {
    if (isUnknown(x)) return '(unknown)';
    if (typeof x === 'string') return x.length > 50 ? `${x.slice(0, 30)}…(${x.length} chars)` : x;
    if (Array.isArray(x)) return x.length > 4 ? [...x.slice(0, 3).map(cut), `…(${x.length} elements)`] : x.map(cut);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([, y]) => y !== null).map(([k, y]) => [k, cut(y)]));
    return x;
  };
  return JSON.stringify(cut(v)).slice(0, 500);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}

async function providerFuzz(f: Figures, n: number, seed: number, evidence: Evidence): Promise<void> {
  const dir = tempDir('fuzz-provider');
  const db = path.join(dir, 'appreg.db');
  const fx = await fixture(db, evidence);
  const { svc, tenant, apps } = fx;
  let crashes = 0;
  let pathless = 0;
  let invalidPlans = 0;
  let rejected = 0;
  let restarts = 0;
  let stderr = '';
  try {
    const writes = () => svc.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length;
    const auditRows = (): number => {
      const d = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return (d.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    await sleep(500); // the setup's last log lines
    const writesBefore = writes();
    const auditBefore = auditRows();
    const requestsBefore = svc.requests().length;

    const start = async (): Promise<ProviderHarness> => {
      const h = await ProviderHarness.start({ executable: path.join(targetRoot(), 'bin', 'terraform-provider-appreg'), env: { TF_LOG: undefined, APPREG_ENDPOINT: undefined, APPREG_TOKEN: undefined } });
      const schema = await h.schema();
      const cfg: Record<string, TfValue> = {};
      for (const name of Object.keys(schema.provider.block.attributes ?? {})) cfg[name] = null;
      cfg.endpoint = svc.url;
      cfg.token = tenant.adminToken;
      await h.configure(cfg);
      return h;
    };
    let h = await start();
    const schema = await h.schema();
    const clientBlock = schema.resource_schemas.appreg_oauth_client!.block;
    const consentBlock = schema.resource_schemas.appreg_app_consent!.block;

    // A prior state for update plans: the group app as the provider reads it after an import.
    const imported = await h.import('appreg_oauth_client', apps.grp!);
    const prior = imported[0]!.state;
    const priorPrivate = imported[0]!.private;

    const ids = { groups: Object.values(tenant.groups).concat(Object.values(fx.other.groups)), apps: Object.values(apps) };
    const cases = fc.sample(
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ type: fc.constant('appreg_oauth_client'), config: clientConfig(ids), update: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ type: fc.constant('appreg_app_consent'), config: consentConfig(ids), update: fc.constant(false) }) },
      ),
      { numRuns: n, seed },
    );
    let i = 0;
    const problems: string[] = [];
    for (const c of cases) {
      i++;
      const block = c.type === 'appreg_oauth_client' ? clientBlock : consentBlock;
      const config = complete(block, c.config);
      const from: TfValue = c.update && c.type === 'appreg_oauth_client' ? prior : null;
      let diags: Diagnostic[] = [];
      let crashed = false;
      let hung = false;
      try {
        diags = await withTimeout(h.validateResourceConfig(c.type, config), 15_000, 'ValidateResourceConfig');
        const plan = await withTimeout(
          h.planResourceChange(c.type, from, proposedNewState(block, from, config), config, from === null ? undefined : priorPrivate),
          15_000,
          'PlanResourceChange',
        );
        diags = [...diags, ...plan.diagnostics];
        if (!diags.some((d) => d.severity === 'error')) {
          const why = invalidPlan(block, config, plan.plannedState);
          if (why) {
            invalidPlans++;
            problems.push(`invalid plan (${why}): ${show(config)}`);
          }
        }
      } catch (err) {
        crashed = true;
        hung = err instanceof Error && /no answer within/.test(err.message);
        diags = [];
        await sleep(200); // the exit event of a provider that died
        problems.push(`RPC failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}; config ${show(config)}`);
      }
      let saysBug = false;
      let noPath = false;
      for (const d of diags) {
        if (SAYS_BUG.test(`${d.summary} ${d.detail ?? ''}`)) {
          saysBug = true;
          problems.push(`diagnostic says bug: ${d.summary}: ${(d.detail ?? '').slice(0, 200)}; config ${show(config)}`);
        }
        if (d.severity === 'error') {
          if (!d.attribute || d.attribute.length === 0) {
            noPath = true;
            problems.push(`error without a path: ${d.summary}: ${(d.detail ?? '').slice(0, 200)}; config ${show(config)}`);
          }
        }
      }
      if (noPath) pathless++;
      if (diags.some((d) => d.severity === 'error')) rejected++;
      if (h.exitStatus !== undefined || hung) {
        crashed = true;
        problems.push(`the provider ${hung ? 'hung' : `exited (${String(h.exitStatus)})`} after ${show(config)}`);
        stderr += h.stderr();
        restarts++;
        h.process.kill('SIGKILL');
        h = await start();
      }
      if (crashed || saysBug) crashes++;
      if (i % 1000 === 0) progress(`fuzz provider: ${i}/${n} configurations, ${crashes} crashes, ${pathless} without path`);
    }
    stderr += h.stderr();
    await h.close();
    await sleep(200);
    f.must('provider crashes', crashes);
    f.must('provider rejections without an attribute path', pathless);
    f.must('plans Terraform would reject', invalidPlans);
    const writeCount = writes() - writesBefore;
    const auditCount = auditRows() - auditBefore;
    f.must('service writes during validate and plan', writeCount + auditCount, `${writeCount} non-GET requests, ${auditCount} audit rows`);
    if (writeCount + auditCount > 0) {
      const w = svc.requests().slice(requestsBefore).filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
      f.notes.push(`writes: ${w.slice(0, 5).map((r) => `${r.method} ${r.path} -> ${r.status}`).join(', ')}`);
      const d = new Database(db, { readonly: true, fileMustExist: true });
      try {
        const rows = d.prepare('SELECT action, target_type, actor FROM audit_events ORDER BY seq DESC LIMIT ?').all(Math.min(auditCount, 5));
        f.notes.push(`audit rows: ${JSON.stringify(rows)}`);
      } finally {
        d.close();
      }
    }
    f.info('configurations (validate + plan)', cases.length, `${rejected} rejected with errors; ${restarts} provider restarts; fast-check seed ${seed}`);
    const oneLine = problems.map((p) => p.replace(/\s+/g, ' '));
    const uniq = [...new Set(oneLine.map((p) => p.replace(/; config .*/, '').replace(/\(e\.g\. config.*$/, '').slice(0, 220)))];
    f.notes.push(...uniq.slice(0, 8).map((u) => `${u} — e.g. ${oneLine.find((p) => p.startsWith(u.slice(0, 100)))?.replace(/^.*; config /, 'config ').slice(0, 300)}`));
  } finally {
    evidence.search('provider stderr', 'fuzz provider', stderr);
    searchSqlite(evidence, 'fuzz provider', db);
    evidence.search('service log', 'fuzz provider service', svc.logs());
    await svc.stop();
  }
}

// ------------------------------------------------------------------ b) HTTP requests

interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** A raw request sent on a socket instead. */
  raw?: string;
}

function httpCase(rng: Rng, fx: Fixture): HttpCase {
  const t = fx.tenant;
  const gid = (): string =>
    rng.pick([
      t.groups.alpha!, t.groups.beta!, t.groups.gamma!, fx.other.groups.elsewhere!, 'grp_' + '0'.repeat(26), '', '..', '%2e%2e', '%00', '%', '%zz', 'a'.repeat(rng.int(100, 400)),
      "' OR 1=1 --", '%F0%9F%98%80', '%2F', '<script>', '${jndi:x}', 'grp_', 'GRP_' + 'A'.repeat(26),
    ]);
  const aid = (): string =>
    rng.pick([
      ...Object.values(fx.apps), ...Object.values(fx.apps), 'app_' + '0'.repeat(26), 'app_' + 'z'.repeat(26), '', '..', '%2e%2e%2f', '%00', '%ff', '%', 'a'.repeat(rng.int(100, 400)),
      "1' OR '1'='1", 'app_x/..', '%u0041', '__proto__', 'constructor', '-1', '0', '1e999',
    ]);
  const routes: Array<() => string> = [
    () => '/healthz', () => '/openapi.json', () => '/v1/tenant/oauth-settings', () => '/v1/groups', () => `/v1/groups/${gid()}/apps`, () => '/v1/apps',
    () => `/v1/apps/${aid()}`, () => `/v1/apps/${aid()}/rotate-secret`, () => '/v1/browse', () => `/v1/groups/${gid()}/consents/${aid()}`, () => '/v1/consents',
    () => '/v1/audit', () => '/v1/me', () => `/v1/${rng.pick(['x', 'apps/', 'groups//apps', '../healthz', '%2e%2e/healthz', 'apps//rotate-secret'])}`,
    () => `/${rng.pick(['', 'console', '.well-known/openid-configuration', 'v2/apps', 'V1/APPS', 'v1', '//v1/apps', '\\v1\\apps'])}`,
  ];
  let p = rng.pick(routes)();
  if (rng.chance(0.4)) {
    const keys = ['group_id', 'scope', 'limit', 'cursor', 'name', '__proto__', 'limit', 'x'];
    const vals = () => rng.pick([t.groups.alpha!, 'organization', 'group', '10', '0', '-1', '1000000', '99999999999999999999', 'NaN', '1.5', '', 'abc', '%00', 'a'.repeat(rng.int(1, 3000)), 'eyJzZXEiOjF9', 'eyJzZXEiOiIxIE9SIDE9MSJ9', '[]', '{}']);
    const q = Array.from({ length: rng.int(1, 4) }, () => `${rng.pick(keys)}=${vals()}`).join('&');
    p += `?${q}${rng.chance(0.05) ? '&&&=&' : ''}`;
  }
  const method = rng.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE', 'get']);
  const headers: Record<string, string> = {};
  const tokens = [t.adminToken, t.adminToken, t.groupTokens.alpha!, t.groupTokens.beta!, t.auditorToken, fx.other.adminToken];
  const auth = rng.int(0, 9);
  if (auth <= 5) headers.authorization = `Bearer ${rng.pick(tokens)}`;
  else if (auth === 6) headers.authorization = rng.pick(['Bearer', 'Bearer ', 'Basic YTpi', 'bearer art_x', `Bearer art_${'A'.repeat(43)}`, 'Bearer ' + 'x'.repeat(8000), 'Bearer a b c', 'Token abc']);
  else if (auth === 7) headers.authorization = `Bearer ${rng.pick(tokens)}${rng.pick(['x', ' ', '\t', ',Bearer y'])}`;
  if (rng.chance(0.7)) headers['content-type'] = rng.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/merge-patch+json', 'APPLICATION/JSON', '']);
  if (rng.chance(0.2)) headers['if-match'] = rng.pick(['"1"', '"2"', 'W/"1"', '*', 'garbage', '"99999999999999999999"', '""', '"-1"', '"1", "2"']);
  if (rng.chance(0.3)) headers['idempotency-key'] = rng.pick([`k-${rng.int(0, 20)}`, 'a'.repeat(300), ' ', 'x y', `${rng.next()}`, '00000000-0000-0000-0000-000000000000']);
  if (rng.chance(0.05)) headers['x-junk'] = 'a'.repeat(rng.int(4000, 40_000));
  if (rng.chance(0.03)) for (let i = 0; i < rng.int(50, 200); i++) headers[`x-h${i}`] = String(i);
  if (rng.chance(0.05)) headers['accept'] = rng.pick(['text/html', 'application/xml', '*/*', '']);

  let body: string | undefined;
  if (method !== 'GET' && method !== 'HEAD' && rng.chance(0.85)) {
    const good = (): Record<string, unknown> => ({
      name: rng.pick(['Fuzz App', `Fuzz ${rng.int(0, 1000)}`, 'Org App', 'bad.name', '', 'a'.repeat(101)]),
      scope: rng.pick(['group', 'organization', 'tenant', null, 1]),
      callback_urls: rng.pick([['https://fuzz.example.com/cb'], [], ['http://evil.example.com'], Array.from({ length: 61 }, (_, i) => `https://x${i}.example.com/`), 'https://x.example.com', [1, 2], null]),
      ...(rng.chance(0.5) ? { grant_types: rng.pick([['authorization_code'], ['device_code'], ['implicit'], [], 'authorization_code', [null]]) } : {}),
      ...(rng.chance(0.3) ? { public_client: rng.pick([true, false, 'yes', 0, null]) } : {}),
      ...(rng.chance(0.3) ? { require_pkce: rng.pick([true, false, 'no', 1]) } : {}),
      ...(rng.chance(0.3) ? { enabled: rng.pick([true, false, null, []]) } : {}),
      ...(rng.chance(0.2) ? { description: rng.pick(['d', '', 'x'.repeat(1001), 5, { a: 1 }]) } : {}),
      ...(rng.chance(0.2) ? { oauth_enabled: rng.pick([true, false, 'true', null]) } : {}),
      ...(rng.chance(0.1) ? { group_id: gid(), id: aid(), secret_version: 99, client_secret: 'ars_nope' } : {}),
    });
    const kind = rng.int(0, 12);
    if (kind <= 4) body = JSON.stringify(good());
    else if (kind === 5) body = rng.pick(['{', '{"a":}', '{"name":"x",}', 'nul', 'tru', '"str"', '123', '[]', 'null', '\u0000', '{"a":"\\ud800"}', '{"a":1e999}', '{"a":-0}', '{"a":"\\u0000"}', '\ufeff{}', '{}garbage', '{"a":1}{"b":2}']);
    else if (kind === 6) {
      const depth = rng.int(1000, 120_000);
      body = rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    } else if (kind === 7) body = JSON.stringify({ ...good(), name: 'n'.repeat(rng.int(1000, 300_000)) });
    else if (kind === 8) body = rng.pick(['{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"name":"A","__proto__":{"scope":"organization"}}']);
    else if (kind === 9) body = JSON.stringify(rng.pick([[good()], 'string', 42, true, { callback_urls: { length: 1e9 } }, { name: { toString: 'x' } }]));
    else if (kind === 10) body = Buffer.from(Array.from({ length: rng.int(1, 2000) }, () => rng.int(0, 255))).toString('latin1');
    else if (kind === 11) body = '';
    else body = JSON.stringify({ ...good(), extra: 'x'.repeat(rng.int(0, 100)), nested: { a: [1, { b: null }] } });
  }

  if (rng.chance(0.04)) {
    // A raw request: broken framing that a client library would never send.
    const raw = rng.pick([
      `GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
      `POST /v1/apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      `POST /v1/groups/${t.groups.alpha}/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
      `GET /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization Bearer x\r\n\r\n`,
      `GET /v1/apps\r\n\r\n`,
      `\u0000\u0001\u0002 / HTTP/1.1\r\n\r\n`,
      `GET /v1/apps HTTP/9.9\r\nHost: x\r\n\r\n`,
      `PATCH /v1/apps/${fx.apps.grp} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n`,
      `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X: y\r\n'.repeat(3000)}\r\n`,
    ]);
    return { method: 'RAW', path: raw.split('\r\n')[0]!.slice(0, 60), headers: {}, raw };
  }
  return { method, path: p, headers, ...(body === undefined ? {} : { body }) };
}

interface HttpAnswer {
  status?: number;
  text: string;
  error?: string;
}

function send(url: string, c: HttpCase, agent: http.Agent): Promise<HttpAnswer> {
  const u = new URL(url);
  if (c.raw !== undefined) {
    return new Promise((resolve) => {
      const sock = net.connect({ host: u.hostname, port: Number(u.port) });
      let got = '';
      const done = (error?: string) => {
        sock.destroy();
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
        resolve({ ...(m ? { status: Number(m[1]) } : {}), text: got, ...(error ? { error } : {}) });
      };
      // No answer within a second: the service waits for the rest of a cut body, which is its right.
      sock.setTimeout(1000, () => done('no answer within 1 s'));
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.length > 1_000_000) done();
      });
      sock.on('error', (e) => done(e.message));
      sock.on('end', () => done());
      sock.write(c.raw!, 'latin1');
    });
  }
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request(
        { host: u.hostname, port: u.port, method: c.method, path: c.path, headers: { ...c.headers, ...(c.body !== undefined ? { 'content-length': String(Buffer.byteLength(c.body, 'latin1')) } : {}) }, agent, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8'), error: e.message }));
        },
      );
    } catch (e) {
      // Node refused to send it (an invalid header value or path): nothing reached the service.
      resolve({ text: '', error: `not sent: ${(e as Error).message}` });
      return;
    }
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ text: '', error: e.message }));
    if (c.body !== undefined) req.end(Buffer.from(c.body, 'latin1'));
    else req.end();
  });
}

async function httpFuzz(f: Figures, label: string, db: string, n: number, rng: Rng, evidence: Evidence, pgUrl?: string): Promise<void> {
  const fx = await fixture(db, evidence);
  let svc = fx.svc;
  let fiveXX = 0;
  let crashes = 0;
  let unanswered = 0;
  const closedWhy: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const problems: string[] = [];
  const logs: string[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const c = httpCase(rng, fx);
        const a = await send(svc.url, c, agent);
        if (a.status !== undefined) {
          statuses[String(a.status)[0] + 'xx'] = (statuses[String(a.status)[0] + 'xx'] ?? 0) + 1;
          if (a.status >= 500) {
            fiveXX++;
            problems.push(`${a.status} for ${c.method} ${c.path.slice(0, 120)} (${c.body === undefined ? 'no body' : `${c.body.length} byte body ${JSON.stringify(c.body.slice(0, 60))}`}): ${a.text.slice(0, 200)}`);
          }
        } else if (!a.error?.startsWith('not sent')) {
          unanswered++;
          const why = `${c.raw !== undefined ? 'raw ' : ''}${(a.error ?? 'closed').slice(0, 40)}`;
          closedWhy[why] = (closedWhy[why] ?? 0) + 1;
        }
        for (const m of a.text.matchAll(/"client_secret":"([^"]+)"/g)) evidence.addSecret(m[1]);
        if (i % 1000 === 999) progress(`fuzz http ${label}: ${i + 1}/${n} requests, ${fiveXX} 5xx, ${crashes} crashes`);
        if (i % 250 === 249 && (svc.exited || !(await svc.healthy()))) {
          crashes++;
          problems.push(`the service ${svc.exited ? `exited (${JSON.stringify(svc.exited)})` : 'stopped answering /healthz'} around request ${i}`);
          logs.push(svc.logs());
          await svc.stop();
          svc = await ServiceProcess.start(db, { rateLimit: 0 });
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    if (svc.exited || !(await svc.healthy())) {
      crashes++;
      problems.push(`the service ${svc.exited ? `exited (${JSON.stringify(svc.exited)})` : 'stopped answering /healthz'} at the end`);
    }
  } finally {
    agent.destroy();
    if (pgUrl) await searchPostgres(evidence, `fuzz http ${label}`, pgUrl);
    else searchSqlite(evidence, `fuzz http ${label}`, db);
    logs.push(svc.logs());
    evidence.search('service log', `fuzz http ${label} service`, logs.join('\n'));
    await svc.stop();
  }
  f.must(`5xx answers (${label})`, fiveXX);
  f.must(`service crashes (${label})`, crashes);
  f.info(`HTTP requests (${label})`, n, `${Object.entries(statuses).sort().map(([k, v]) => `${k}: ${v}`).join(', ')}; ${unanswered} closed without an answer (${Object.entries(closedWhy).map(([k, v]) => `${k}: ${v}`).join('; ')})`);
  const uniq = [...new Set(problems.map((p) => p.replace(/ for .*?: /, ': ')))];
  f.notes.push(...uniq.slice(0, 6).map((u) => `${label}: ${problems.find((p) => p.replace(/ for .*?: /, ': ') === u)}`));
}

/** Runs trial 3. */
export async function fuzzTrial(sizes: FuzzSizes, evidence: Evidence, seed: number): Promise<Figures> {
  const f = new Figures('3 fuzz');
  f.notes.push(`seed ${seed}`);
  await providerFuzz(f, sizes.configs, seed, evidence);
  const dir = tempDir('fuzz-http');
  await httpFuzz(f, 'SQLite', path.join(dir, 'appreg.db'), sizes.requests, new Rng(seed ^ 0x5151), evidence);
  if (sizes.postgres) {
    const pg = await import('../../test/support/postgres');
    let startedHere = false;
    let url: string | undefined;
    try {
      if (!process.env[pg.PG_URL_ENV]) {
        progress('fuzz http: starting a PostgreSQL cluster');
        await pg.startCluster();
        startedHere = true;
      }
      url = await pg.createTestDatabase();
    } catch (err) {
      f.notes.push(`PostgreSQL not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      f.info('PostgreSQL skipped', 1);
    }
    try {
      if (url) await httpFuzz(f, 'PostgreSQL', url, sizes.requests, new Rng(seed ^ 0x7777), evidence, url);
    } finally {
      if (startedHere) await pg.stopCluster();
    }
  }
  return f;
}
