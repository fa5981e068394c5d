/**
 * The pure parts of the console's Administration > Security > OAuth Clients
 * (src/server/console/admin.ts): where an API error path shows in the
 * "Create OAuth 2.0 client" dialog, the body the dialog registers, and the
 * screens' markup (labels, the switch, no "New" while OAuth is off). The
 * screens in a browser are test/browser/console.test.ts.
 */
import { clientBody, clientFieldOfPath, newClientPage, oauthClientsPage } from '../../src/server/console/admin';

const viewer = { username: 'sam', securityAdmin: true, csrf: 'csrf-token' };
const groups = [{ id: 'g1', name: 'platform', admin: true }, { id: 'g2', name: 'data', admin: true }];

describe('console administration (admin.ts)', () => {
  test('an API error path is shown at its field, with the line of a callback URL', () => {
    expect(clientFieldOfPath('name')).toEqual({ field: 'name' });
    expect(clientFieldOfPath('callback_urls[2]')).toEqual({ field: 'callback_urls', line: 3 });
    expect(clientFieldOfPath('grant_types')).toEqual({ field: 'type' });
    expect(clientFieldOfPath('grant_types[0]')).toEqual({ field: 'type', line: 1 });
    expect(clientFieldOfPath('group_id')).toEqual({ field: 'group_id' });
    expect(clientFieldOfPath('scope')).toBeUndefined();
    expect(clientFieldOfPath('')).toBeUndefined();
  });

  test('the dialog registers a group-scoped app with the one grant of its "Type", one callback URL a line', () => {
    expect(clientBody({ name: 'Reports Bot', type: 'device_code', callbackUrls: ' https://a.example/cb \r\n\nhttps://b.example/cb\n', groupId: 'g1' })).toEqual({
      name: 'Reports Bot',
      callback_urls: ['https://a.example/cb', 'https://b.example/cb'],
      scope: 'group',
      grant_types: ['device_code'],
    });
  });

  test('"Enable OAuth" is offered while OAuth is off, "New" only once it is on', () => {
    const off = oauthClientsPage({ viewer, groups, clients: [], settings: { oauth_enabled: false, sso_enabled: false, device_grant_allowed: true } });
    expect(off).toContain('OAuth is <strong>disabled</strong>');
    expect(off).toMatch(/<form method="post" action="\/console\/admin\/oauth-settings">\n<input type="hidden" name="csrf" value="csrf-token">/);
    expect(off).not.toContain('New OAuth 2.0 client');
    const on = oauthClientsPage({
      viewer,
      groups,
      settings: { oauth_enabled: true, sso_enabled: false, device_grant_allowed: true },
      clients: [{ id: 'a1', name: 'Bot <1>', group_id: 'g2', client_id: 'cid', grant_types: ['authorization_code', 'device_code'], enabled: false }],
    });
    expect(on).not.toContain('Enable OAuth');
    expect(on).toContain('aria-label="New OAuth 2.0 client"');
    expect(on).toContain('<tr><td>Bot &lt;1&gt;</td><td>data</td><td class="code">cid</td><td>Authorization code, Device grant</td><td>No</td></tr>');
  });

  test('the dialog marks a field in error and names its message; the device grant is off under SSO', () => {
    const html = newClientPage({
      viewer,
      groups,
      settings: { oauth_enabled: true, sso_enabled: true, device_grant_allowed: false },
      input: { name: 'x', type: 'authorization_code', callbackUrls: 'http://example.com/cb', groupId: 'g2' },
      errors: { callback_urls: ['Line 1: must use https'] },
    });
    expect(html).toContain('<textarea id="callback_urls" name="callback_urls" rows="4" required aria-invalid="true" aria-describedby="callback_urls-hint callback_urls-error">http://example.com/cb</textarea>');
    expect(html).toContain('<p class="field-error" id="callback_urls-error">Line 1: must use https</p>');
    expect(html).toContain('<option value="device_code" disabled>Device grant</option>');
    expect(html).toContain('<option value="g2" selected>data</option>');
    expect(html).toMatch(/<input type="text" id="name" name="name" required maxlength="100" value="x" aria-describedby="name-hint">/);
  });
});
