/** The data sources: `appreg_group` (a group by name) and `appreg_oauth_client` (an organization-scoped app by name). */
import { groupData, oauthClientData, validateLookupConfig } from '../schema';
import { DiagnosticError, type State } from '../framework';
import { type DataSource } from './resource';

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
export const groupDataSource: DataSource = {
  spec: groupData,
  noun: 'the group',
  validate: validateLookupConfig,
  async read(ctx, config): Promise<State> {
    const name = config.name as string;
    const groups = await ctx.client.listAllGroups();
    const group = groups.find((g) => g.name === name);
    if (!group) throw notFound('Group', name, groups.map((g) => g.name));
    return { name, id: group.id };
  },
};

/** `data.appreg_oauth_client`. */
export const oauthClientDataSource: DataSource = {
  spec: oauthClientData,
  noun: 'the organization-scoped app',
  validate: validateLookupConfig,
  async read(ctx, config): Promise<State> {
    const name = config.name as string;
    const groupId = config.group_id as string;
    const items = await ctx.client.browseAll({ group_id: groupId });
    const app = items.find((a) => a.name === name);
    if (!app) throw notFound('Organization-scoped app', name, items.map((a) => a.name));
    return { group_id: groupId, name, id: app.id, client_id: app.client_id, owner_group_id: app.group_id, callback_urls: [...app.callback_urls] };
  },
};
