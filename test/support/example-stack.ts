/**
 * The frame every "example against a real service" test shares: Terraform
 * and the built provider present, a real service on port 0 with the named
 * groups, an API client with the tenant admin's token, and a temporary
 * folder for the synthesized stack; all of it removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { startTestService, type TestService } from './service';
import { requireBuiltProvider, requireTerraform } from './terraform';

/** What the test body gets. */
export interface ExampleWorld {
  svc: TestService;
  /** A client with the tenant security admin's token, for setup and checks. */
  api: AppregClient;
  /** An empty folder to synthesize the stack into (`CDKTF_OUTDIR`). */
  outdir: string;
}

/** Runs `body` in a fresh {@link ExampleWorld} and tears it down, whether or not the body throws. */
export async function withExampleWorld<T>(opts: { groups: string[]; example: string }, body: (w: ExampleWorld) => Promise<T>): Promise<T> {
  requireTerraform();
  requireBuiltProvider();
  const svc = await startTestService({ groups: opts.groups });
  const api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `appreg-example-${opts.example}-`));
  try {
    return await body({ svc, api, outdir });
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
    api.close();
    await svc.close();
  }
}
