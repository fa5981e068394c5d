/**
 * The pure parts of the console's per-app page and browse list
 * (src/server/console/app-actions.ts, browse.ts): where the API's field
 * errors land, what a member is offered, and that names are escaped. The
 * screens end to end are console-actions.test.ts (acceptance).
 */
import { type AppDetail, appPage, confirmPage, editErrorsByField } from '../../src/server/console/app-actions';
import { browsePage } from '../../src/server/console/browse';

const viewer = { username: 'gina', securityAdmin: false, csrf: 'C'.repeat(43) };
const app: AppDetail = {
  id: 'app_1',
  client_id: 'cid1',
  group_id: 'grp_1',
  name: 'Billing <Portal>',
  callback_urls: ['https://a.example.com/cb', 'https://b.example.com/cb'],
  scope: 'group',
  public_client: false,
  enabled: true,
  secret_version: 3,
  version: 7,
};

describe('the per-app page', () => {
  it('puts each API field error at its field, a callback URL with its line, and the rest as text', () => {
    const { fields, other } = editErrorsByField({
      errors: [
        { path: 'name', message: 'may only contain letters' },
        { path: 'callback_urls[1]', message: 'must use https' },
        { path: 'enabled', message: 'must be a boolean' },
        { path: 'grant_types', message: 'is not allowed' },
      ],
    });
    expect(fields).toEqual({ name: ['may only contain letters'], callback_urls: ['Line 2: must use https'], enabled: ['must be a boolean'] });
    expect(other).toEqual(['grant_types: is not allowed']);
    expect(editErrorsByField(undefined)).toEqual({ fields: {}, other: [] });
  });

  it('gives a group admin the form with the version and CSRF token, and the two actions', () => {
    const html = appPage({ viewer, app, groupName: 'platform', canEdit: true });
    expect(html).toContain('<input type="hidden" name="version" value="7">');
    expect(html).toContain(`<input type="hidden" name="csrf" value="${viewer.csrf}">`);
    expect(html).toContain('>Save</button>');
    expect(html).toContain('>Rotate secret</button>');
    expect(html).toContain('>Delete</button>');
    expect(html).toContain('https://a.example.com/cb\nhttps://b.example.com/cb</textarea>');
    // Names are text, never markup.
    expect(html).toContain('Billing &lt;Portal&gt;');
    expect(html).not.toContain('<Portal>');
  });

  it('keeps the version the page was opened at after an error, so a stale page stays stale', () => {
    const html = appPage({ viewer, app, groupName: 'platform', canEdit: true, version: 5, message: 'x' });
    expect(html).toContain('name="version" value="5"');
  });

  it('offers no rotation for a public client, and a member no form at all', () => {
    expect(appPage({ viewer, app: { ...app, public_client: true }, groupName: 'platform', canEdit: true })).not.toContain('Rotate secret</button>');
    const member = appPage({ viewer, app, groupName: 'platform', canEdit: false });
    expect(member).not.toMatch(/<button type="submit"[^>]*>(Save|Rotate secret|Delete)</);
    expect(member).not.toContain('name="version"');
    expect(member).toMatch(/<input type="text" id="name"[^>]* readonly/);
    expect(member).toMatch(/<input type="checkbox" id="enabled"[^>]* disabled/);
  });

  it('asks first: the confirmation posts with the CSRF token and the version, and "Cancel" is a GET', () => {
    const html = confirmPage({ viewer, title: 'Delete X?', explanation: 'its consents go too', action: '/console/apps/app_1/delete', button: 'Delete', version: 7, cancelHref: '/console/apps/app_1' });
    expect(html).toMatch(/<form method="post" action="\/console\/apps\/app_1\/delete">\n<input type="hidden" name="csrf"[^>]*>\n<input type="hidden" name="version" value="7">/);
    expect(html).toContain('<form method="get" action="/console/apps/app_1"><button type="submit" class="secondary">Cancel</button></form>');
  });
});

describe('Browse App Registrations', () => {
  const group = { id: 'grp_1', name: 'platform', admin: true };
  const items = [
    { id: 'app_2', name: 'Shared', client_id: 'c2', group_id: 'grp_2', consented: false },
    { id: 'app_3', name: 'Used', client_id: 'c3', group_id: 'grp_2', consented: true },
  ];

  it('offers "Add Consent" (a POST with the CSRF token) or, when consented, "Remove Consent" (a GET to the confirmation)', () => {
    const html = browsePage({ viewer, groups: [group], group, items });
    expect(html).toMatch(/<form method="post" action="\/console\/browse\/consent">\n<input type="hidden" name="csrf"[^]*?value="app_2">\n<button[^>]*>Add Consent<\/button>/);
    expect(html).toMatch(/Consented\n<form method="get" action="\/console\/browse\/remove">[^]*?value="app_3">\n<button[^>]*>Remove Consent<\/button>/);
  });

  it('shows a member the consents read-only', () => {
    const html = browsePage({ viewer, groups: [{ ...group, admin: false }], group: { ...group, admin: false }, items });
    expect(html).not.toContain('Add Consent');
    expect(html).not.toContain('Remove Consent');
    expect(html).toContain('Not consented');
    expect(html).toContain('Consented');
  });
});
