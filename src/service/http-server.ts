/** The HTTP server of the service: /metrics (our exporter), /healthz and /readyz (the probes). */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { InputError } from '../errors.js';
import type { PlannerMetrics } from './exporter.js';
import type { Probe } from './probes.js';

export type { Probe } from './probes.js';

export interface MetricsServerOptions {
  port: number;
  host?: string;
  metrics: PlannerMetrics;
  /** Process alive and the loop not stuck. */
  health: () => Probe;
  /** Ready to be trusted: fewer than spec.failureThreshold failed ticks in a row. */
  ready: () => Probe;
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const probe = (p: Probe, res: ServerResponse) => {
    res.writeHead(p.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${p.ok ? 'ok' : 'not ok'}: ${p.detail}\n`);
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else if (path === '/healthz') probe(options.health(), res);
    else if (path === '/readyz') probe(options.ready(), res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, options.port, options.host)));
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Why the server could not listen, as the user can act on it: the port in use, or one that needs privileges. */
function listenError(error: Error, port: number, host = '0.0.0.0'): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new InputError([
      `--metrics-port ${port}: the port is already in use on ${host} (EADDRINUSE): another process listens there; pick a free port with --metrics-port PORT, or stop the other process`,
    ]);
  }
  if (code === 'EACCES') {
    return new InputError([`--metrics-port ${port}: permission denied (EACCES): ports below 1024 need privileges; use a port from 1024 up, e.g. --metrics-port 9090`]);
  }
  return error;
}
