/**
 * Entry point of `terraform-provider-appreg`. Terraform starts it several
 * times per command and waits for its handshake line each time, so it loads
 * only what the handshake needs: the provider itself (schema, resources,
 * framework) is made by a factory that serveProvider calls once the line is
 * out, and the HTTP client loads when the provider is configured.
 */
import { serveProvider } from '../tfplugin/serve';
import { PROVIDER_ADDRESS } from '../schema/address';

const makeProvider = (): import('./provider').AppregProvider => new (require('./provider') as typeof import('./provider')).AppregProvider();

serveProvider(makeProvider, { providerAddress: PROVIDER_ADDRESS, debug: process.argv.includes('--debug') }).catch((e: unknown) => {
  process.stderr.write(`terraform-provider-appreg: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
