// Serving the bot's registry: on a port of its own, or as a handler on the bot's server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ServeOptions {
  /** Default 9464 (EDGEWATCH_BOT_PORT); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1; "0.0.0.0" to let a Prometheus on another host scrape. */
  host?: string;
}

export interface MetricsServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A handler for node:http or express: GET /metrics in the Prometheus text format. */
export function metricsHandler(registry: Registry) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      },
      (err: Error) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`# metrics collection failed: ${err.message}\n`);
      },
    );
  };
}

export function serveMetrics(registry: Registry, options: ServeOptions = {}): Promise<MetricsServer> {
  const handle = metricsHandler(registry);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') return handle(req, res);
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{"status":"ok"}');
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found: try /metrics\n');
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, host, () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}
