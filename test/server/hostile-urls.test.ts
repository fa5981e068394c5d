/**
 * The registration service refuses every hostile callback URL with a 422 at
 * `callback_urls[0]`, on create and on change, and stores nothing; ordinary
 * callback URLs are stored exactly as sent (never trimmed or normalised).
 * Once on SQLite and once on PostgreSQL.
 */
import { quote } from '../../src/rules';
import { HOSTILE, LEGITIMATE } from '../support/hostile-urls';
import { appBody, BACKENDS, expectProblem, startWorld, type Answer, type World } from './harness';

describe.each(BACKENDS)('hostile callback URLs on %s', (backend) => {
  let w: World;
  let alpha: string;
  let admin: string;

  beforeAll(async () => {
    w = await startWorld(backend);
    alpha = w.acme.groups.alpha!;
    admin = w.acme.admin;
  });
  afterAll(async () => {
    await w?.stop();
  });

  /** The 422 of one hostile URL at `callback_urls[0]`, or a description of what came back instead. */
  function refusal(res: Answer, url: string, why: RegExp): string | undefined {
    const shown = quote(url.slice(0, 80));
    if (res.status !== 422) return `${shown}: expected 422, got ${res.status}: ${res.text.slice(0, 300)}`;
    if (!/^application\/problem\+json/.test(res.headers.get('content-type') ?? '')) return `${shown}: not problem+json`;
    const errors = (res.json?.errors ?? []) as Array<{ path: string; message: string }>;
    const at = errors.find((e) => e.path === 'callback_urls[0]');
    if (!at) return `${shown}: no error at callback_urls[0]: ${JSON.stringify(errors)}`;
    if (!why.test(at.message)) return `${shown}: message ${JSON.stringify(at.message)} does not match ${String(why)}`;
    if (errors.some((e) => e.path !== 'callback_urls[0]')) return `${shown}: errors at other paths: ${JSON.stringify(errors)}`;
    return undefined;
  }

  async function appsOfAlpha(): Promise<Array<{ id: string; callback_urls: string[]; version: number }>> {
    const res = await w.call('GET', `/v1/apps?group_id=${alpha}&limit=200`, { token: admin });
    expect(res.status).toBe(200);
    return res.json.items;
  }

  async function auditActions(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await w.call('GET', `/v1/audit?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      expect(res.status).toBe(200);
      out.push(...(res.json.items as Array<{ action: string }>).map((e) => e.action));
      cursor = res.json.next_cursor;
    } while (cursor);
    return out;
  }

  it('POST refuses each hostile callback URL with 422 at callback_urls[0], and stores nothing', async () => {
    const appsBefore = await appsOfAlpha();
    const auditBefore = await auditActions();
    const failures: string[] = [];
    for (const [url, why] of HOSTILE) {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ callback_urls: [url] }) });
      const problem = refusal(res, url, why);
      if (problem) failures.push(problem);
    }
    expect(failures).toEqual([]);
    expect(await appsOfAlpha()).toEqual(appsBefore);
    expect(await auditActions()).toEqual(auditBefore);
  });

  it('POST refuses a hostile URL among valid ones at its own index', async () => {
    const res = await w.call('POST', `/v1/groups/${alpha}/apps`, {
      token: admin,
      body: appBody({ callback_urls: ['https://app.example.com/cb', 'https://app.example.com/cb\r\nSet-Cookie: x=1'] }),
    });
    const problem = expectProblem(res, 422);
    expect(problem.errors).toEqual([{ path: 'callback_urls[1]', message: expect.stringMatching(/carriage return/) }]);
    expect(problem.detail).not.toMatch(/[\r\n]/);
  });

  it('PATCH refuses each hostile callback URL with 422 at callback_urls[0], and changes nothing', async () => {
    const created = await w.createApp(admin, alpha, appBody({ callback_urls: ['https://app.example.com/callback'] }));
    const id = created.json.id as string;
    const before = (await w.call('GET', `/v1/apps/${id}`, { token: admin })).json;
    const auditBefore = await auditActions();
    const failures: string[] = [];
    for (const [url, why] of HOSTILE) {
      const res = await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { callback_urls: [url] } });
      const problem = refusal(res, url, why);
      if (problem) failures.push(problem);
    }
    expect(failures).toEqual([]);
    const after = await w.call('GET', `/v1/apps/${id}`, { token: admin });
    expect(after.json).toEqual(before);
    expect(after.headers.get('etag')).toBe(created.headers.get('etag'));
    expect(await auditActions()).toEqual(auditBefore);
  });

  it('stores ordinary callback URLs exactly as sent, on create and on change', async () => {
    const created = await w.createApp(admin, alpha, appBody({ callback_urls: [...LEGITIMATE] }));
    expect(created.json.callback_urls).toEqual(LEGITIMATE);
    const id = created.json.id as string;
    expect((await w.call('GET', `/v1/apps/${id}`, { token: admin })).json.callback_urls).toEqual(LEGITIMATE);
    const changed = [...LEGITIMATE].reverse();
    const res = await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { callback_urls: changed } });
    expect(res.status).toBe(200);
    expect(res.json.callback_urls).toEqual(changed);
    expect((await w.call('GET', `/v1/apps/${id}`, { token: admin })).json.callback_urls).toEqual(changed);
  });

  it('treats URLs that differ only in spelling as different, and exact repeats as duplicates', async () => {
    const res = await w.call('POST', `/v1/groups/${alpha}/apps`, {
      token: admin,
      body: appBody({ callback_urls: ['https://app.example.com/cb', 'https://App.example.com/cb', 'https://app.example.com/cb'] }),
    });
    expect(expectProblem(res, 422).errors).toEqual([
      { path: 'callback_urls[2]', message: 'duplicates callback_urls[0] ("https://app.example.com/cb")' },
    ]);
  });
});
