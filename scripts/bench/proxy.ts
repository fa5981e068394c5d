/**
 * A counting HTTP proxy (node:http) in front of the service: the provider
 * is pointed at it, and it counts every request it forwards, by method and
 * route (ids replaced by `{id}`), before passing it on unchanged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup } from './common';

/** A running proxy. */
export interface CountingProxy {
  /** Base URL to give the provider instead of the service's. */
  url: string;
  /** Requests forwarded since the last reset, in total and by `METHOD /route`. */
  counts(): { total: number; byRoute: Record<string, number> };
  reset(): void;
  close(): Promise<void>;
}

/** `GET /v1/apps/app_x1y2?limit=5` → `GET /v1/apps/{id}`. */
function route(method: string, url: string): string {
  const p = url.split('?')[0]!;
  return `${method} ${p.replace(/\/[a-z]+_[a-z0-9]{26}(?=\/|$)/g, '/{id}')}`;
}

/** Starts a proxy on 127.0.0.1 (a free port) forwarding to `target`. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let byRoute: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const key = route(req.method ?? '?', req.url ?? '/');
    byRoute[key] = (byRoute[key] ?? 0) + 1;
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host }, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`counting proxy: ${e.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      agent.destroy();
    });
    return closing;
  };
  onCleanup(close);
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ total: Object.values(byRoute).reduce((a, b) => a + b, 0), byRoute: { ...byRoute } }),
    reset: () => {
      byRoute = {};
    },
    close,
  };
}
