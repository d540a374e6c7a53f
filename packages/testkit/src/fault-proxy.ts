import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A fault the proxy injects into one matching request instead of forwarding it untouched. */
export type Fault =
  /** Respond with this status without forwarding (a 500, or a 429 with a Retry-After header). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Close the client connection without a response. */
  | { kind: 'reset' }
  /** Forward, but cut both connections after this many bytes of the request body. */
  | { kind: 'reset-request'; afterBytes: number }
  /** Forward, but cut the client connection after this many bytes of the response body. */
  | { kind: 'reset-response'; afterBytes: number }
  /** Wait before forwarding. */
  | { kind: 'delay'; ms: number }
  /** Forward, and add these headers to the response (for example `OCI-Chunk-Min-Length`). */
  | { kind: 'headers'; headers: Record<string, string> };

export interface FaultRule {
  method?: string;
  /** Matched against the path and query of the request. */
  path?: RegExp;
  /** How many matching requests get the fault; 1 by default. */
  times?: number;
  fault: Fault;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  /** Status sent to the client, or undefined when the connection was cut. */
  status: number | undefined;
  fault: Fault['kind'] | undefined;
}

export interface FaultProxy {
  host: string;
  port: number;
  url: string;
  /** Adds a rule; rules are checked in the order they were added. */
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** Every request the proxy received. */
  log: ProxyLogEntry[];
  /** TCP connections clients opened to the proxy so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

interface ActiveRule extends FaultRule {
  remaining: number;
}

/**
 * Starts an HTTP reverse proxy on 127.0.0.1 in front of `target` (an `http://` URL) that injects
 * faults into chosen requests. The Host header is passed through, so the registry writes upload
 * Locations that point back at the proxy.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: ActiveRule[] = [];
  const log: ProxyLogEntry[] = [];

  function takeFault(req: IncomingMessage): Fault | undefined {
    const rule = rules.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (candidate.method === undefined || candidate.method === req.method) &&
        (candidate.path === undefined || candidate.path.test(req.url ?? '')),
    );
    if (rule === undefined) return undefined;
    rule.remaining--;
    return rule.fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = takeFault(req);
    const entry: ProxyLogEntry = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: undefined,
      fault: fault?.kind,
    };
    log.push(entry);

    if (fault?.kind === 'status') {
      entry.status = fault.status;
      res.writeHead(fault.status, { connection: 'close', ...fault.headers });
      res.end(fault.body ?? '');
      req.resume();
      return;
    }
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);
    forward(req, res, fault, entry);
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    fault: Fault | undefined,
    entry: ProxyLogEntry,
  ): void {
    const outgoing = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode;
        const extra = fault?.kind === 'headers' ? fault.headers : {};
        res.writeHead(upstreamRes.statusCode ?? 502, { ...upstreamRes.headers, ...extra });
        if (fault?.kind !== 'reset-response') {
          upstreamRes.pipe(res);
          return;
        }
        let sent = 0;
        upstreamRes.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const part = chunk.subarray(0, fault.afterBytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= fault.afterBytes) {
            entry.status = undefined;
            upstreamRes.destroy();
            res.socket?.destroy();
          }
        });
        upstreamRes.on('end', () => res.end());
      },
    );
    outgoing.on('error', () => res.socket?.destroy());

    if (fault?.kind !== 'reset-request') {
      req.pipe(outgoing);
      return;
    }
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= fault.afterBytes) {
        outgoing.write(chunk);
        return;
      }
      outgoing.write(chunk.subarray(0, chunk.length - (received - fault.afterBytes)));
      outgoing.destroy();
      req.socket.destroy();
    });
    req.on('end', () => outgoing.end());
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });

  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    addRule(rule) {
      rules.push({ ...rule, remaining: rule.times ?? 1 });
    },
    clearRules() {
      rules.length = 0;
    },
    log,
    get connections() {
      return connections;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
