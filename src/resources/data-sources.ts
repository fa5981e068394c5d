/** The data sources: `appreg_group` (a group by name) and `appreg_oauth_client` (an organization-scoped app by name). */
import { DiagnosticError, defineDataSource } from '../framework';
import { groupData, oauthClientData } from '../schema';
import { validateLookupConfig } from './validate';
import type { ResourceContext } from './resource';

function notFound(what: string, name: string, known: string[]): DiagnosticError {
  const list = known.length > 0 ? ` The token can see: ${known.map((n) => JSON.stringify(n)).join(', ')}.` : ' The token can see none.';
  return new DiagnosticError([{
    severity: 'error',
    summary: `${what} not found`,
    detail: `No ${what.toLowerCase()} named ${JSON.stringify(name)} is visible to this token.${list} Check the name, or use a token that may see it.`,
    attribute: ['name'],
  }]);
}

/** `data.appreg_group`. */
export const groupDataSource = defineDataSource<typeof groupData, ResourceContext>({
  spec: groupData,
  noun: 'the group',
  validate: validateLookupConfig,
  async read(ctx, { name }) {
    const groups = await ctx.snapshot.groups();
    const group = groups.find((g) => g.name === name);
    if (!group) throw notFound('Group', name, groups.map((g) => g.name));
    return { name, id: group.id };
  },
});

/** `data.appreg_oauth_client`. */
export const oauthClientDataSource = defineDataSource<typeof oauthClientData, ResourceContext>({
  spec: oauthClientData,
  noun: 'the organization-scoped app',
  validate: validateLookupConfig,
  async read(ctx, { name, group_id: groupId }) {
    const items = await ctx.snapshot.browse(groupId);
    const app = items.find((a) => a.name === name);
    if (!app) throw notFound('Organization-scoped app', name, items.map((a) => a.name));
    return { group_id: groupId, name, id: app.id, client_id: app.client_id, owner_group_id: app.group_id, callback_urls: [...app.callback_urls] };
  },
});
