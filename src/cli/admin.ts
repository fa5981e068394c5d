/**
 * `appreg admin ...`: operator commands on the database. Each prints one JSON
 * object on stdout; errors go to stderr with exit code 1.
 */
import type { Command } from 'commander';
// The admin module only, not the HTTP service: operator commands start faster without Fastify.
import {
  adminGroupAdd,
  adminGroupList,
  adminInit,
  adminTenantSet,
  adminTokenCreate,
  adminTokenList,
  adminTokenRevoke,
  adminUserAdd,
  adminUserList,
  adminUserRemove,
  AdminError,
} from '../server/admin';
import type { Role } from '../rules';

const DB_HELP = 'SQLite file, or a postgres:// URL (env APPREG_DB)';
const DEFAULT_DB = process.env.APPREG_DB ?? './appreg.db';

function print(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parseBool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`${flag} must be true or false (got ${JSON.stringify(v)})`);
}

/** Registers `admin` and its subcommands on the program. */
export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('operator commands: tenants, groups, tokens, people');

  admin
    .command('init')
    .description('create a tenant (OAuth off) and print {"tenant_id","token"} with a tenant_security_admin token')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--sso', 'the tenant uses single sign-on (disables the device grant)', false)
    .action(async (o: { db: string; tenant: string; sso: boolean }) => {
      print(await adminInit(o.db, { tenant: o.tenant, sso: o.sso }));
    });

  const group = admin.command('group').description('groups of a tenant');
  group
    .command('add')
    .description('add a group and print {"group_id"}')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--name <group>', 'group name')
    .action(async (o: { db: string; tenant: string; name: string }) => {
      print(await adminGroupAdd(o.db, { tenant: o.tenant, name: o.name }));
    });

  group
    .command('list')
    .description('print {"groups":[{"id","name","created_at"}]}: the groups of the tenant, oldest first')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .action(async (o: { db: string; tenant: string }) => {
      print(await adminGroupList(o.db, { tenant: o.tenant }));
    });

  const token = admin.command('token').description('API tokens');
  token
    .command('create')
    .description('create a token and print {"id","token"}; the token is shown once, the id is what "token list" shows and "token revoke" takes')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--role <role>', 'tenant_security_admin, group_admin or auditor')
    .option('--group <group>', 'group name (group_admin only)')
    .action(async (o: { db: string; tenant: string; role: string; group?: string }) => {
      print(await adminTokenCreate(o.db, {
        tenant: o.tenant,
        role: o.role as Role, // checked by adminTokenCreate, with a message listing the roles
        ...(o.group !== undefined ? { group: o.group } : {}),
      }));
    });

  token
    .command('list')
    .description(
      'print {"tokens":[{"id","role","group_id","group_name","created_at","last_used_at","revoked_at"}]}, oldest first; ' +
        'never a token or its hash. last_used_at is recorded to the minute (null: never used)',
    )
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--group <group>', 'only the tokens of this group (name)')
    .option('--role <role>', 'only tokens of this role: tenant_security_admin, group_admin or auditor')
    .option('--include-revoked', 'list revoked tokens too (with revoked_at)', false)
    .action(async (o: { db: string; tenant: string; group?: string; role?: string; includeRevoked: boolean }) => {
      print(await adminTokenList(o.db, {
        tenant: o.tenant,
        includeRevoked: o.includeRevoked,
        ...(o.group !== undefined ? { group: o.group } : {}),
        ...(o.role !== undefined ? { role: o.role } : {}),
      }));
    });

  token
    .command('revoke')
    .description('revoke a token by id and print {"revoked": id}; its next request gets 401 on every instance')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--id <id>', 'token id (tok_..., from "token create" or "token list")')
    .action(async (o: { db: string; tenant: string; id: string }) => {
      print(await adminTokenRevoke(o.db, { tenant: o.tenant, id: o.id }));
    });

  const tenant = admin.command('tenant').description('tenant settings');
  tenant
    .command('set')
    .description('set whether the tenant uses SSO and print {"tenant_id","sso_enabled"}')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--sso <bool>', 'true or false')
    .action(async (o: { db: string; tenant: string; sso: string }) => {
      print(await adminTenantSet(o.db, { tenant: o.tenant, sso: parseBool('--sso', o.sso) }));
    });

  const user = admin.command('user').description('people, who sign in to the registered apps');
  const collect = (v: string, all: string[]): string[] => [...all, v];
  user
    .command('add')
    .description('add a person and print {"user_id"}; the password is read from standard input (one line), never from an argument')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--username <username>', 'what the person types at sign-in (unique in the tenant, whatever the case)')
    .option('--member <group>', 'a group the person belongs to, read-only (repeatable)', collect, [])
    .option('--admin-of <group>', 'a group the person administers, with group_admin rights (repeatable)', collect, [])
    .option('--security-admin', 'the person has tenant_security_admin rights', false)
    .action(async (o: { db: string; tenant: string; username: string; member: string[]; adminOf: string[]; securityAdmin: boolean }) => {
      const password = await readPassword();
      print(await adminUserAdd(o.db, { tenant: o.tenant, username: o.username, password, member: o.member, adminOf: o.adminOf, securityAdmin: o.securityAdmin }));
    });
  user
    .command('list')
    .description('print {"users":[{id,username,security_admin,groups:[{id,name,role}],created_at}]}; never a password or its hash')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .action(async (o: { db: string; tenant: string }) => {
      print(await adminUserList(o.db, { tenant: o.tenant }));
    });
  user
    .command('remove')
    .description('remove a person and print {"removed"} with their id')
    .option('--db <db>', DB_HELP, DEFAULT_DB)
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--username <username>', 'the person to remove (any case)')
    .action(async (o: { db: string; tenant: string; username: string }) => {
      print(await adminUserRemove(o.db, { tenant: o.tenant, username: o.username }));
    });
}

/**
 * The password from standard input: its first line, without the line break
 * (`printf '%s' pw |`, `echo pw |` and a here-string all work). Not from an
 * argument or the environment, where other users' `ps` and shell history see it.
 */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new AdminError('give the password on standard input, e.g. `read -rs PW && printf "%s\\n" "$PW" | appreg admin user add ...`');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Far above the longest password: a stray file piped in is refused, not read whole.
    if (size > 64 * 1024) throw new AdminError('standard input is too long for a password');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new AdminError('no password on standard input; give it as one line');
  return line;
}
