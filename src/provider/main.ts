/**
 * Entry point of `terraform-provider-appreg`. Terraform starts it several
 * times per command, so it loads only what the handshake needs; the HTTP
 * client and its dependencies load when the provider is configured.
 */
import { serveProvider } from '../tfplugin/serve';
import { PROVIDER_ADDRESS } from '../schema/address';
import { AppregProvider } from './provider';

serveProvider(new AppregProvider(), { providerAddress: PROVIDER_ADDRESS, debug: process.argv.includes('--debug') }).catch((e: unknown) => {
  process.stderr.write(`terraform-provider-appreg: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
