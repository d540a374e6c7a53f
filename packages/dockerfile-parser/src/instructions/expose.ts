import { DockerfileParseError } from '../errors.js';

/** One EXPOSE entry: a port or port range and its protocol. */
export interface ExposedPort {
  start: number;
  end: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** Docker's config key for each port of the range (`80/tcp`). */
  keys: string[];
}

const PORT_SPEC = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/;
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
// A range is expanded into one config key per port; this bounds the size of that list.
const MAX_RANGE = 65535;

function invalidPort(spec: string, reason: string): DockerfileParseError {
  return new DockerfileParseError(`invalid EXPOSE port ${JSON.stringify(spec)}: ${reason}`, {
    code: 'INVALID_ARGUMENT',
    hint: 'Write PORT, PORT/PROTOCOL or START-END/PROTOCOL, with ports 1-65535 and protocol tcp, udp or sctp.',
  });
}

/**
 * Parses an expanded EXPOSE word (`80`, `53/udp`, `8000-8010/tcp`). The protocol defaults to
 * tcp and is lower-cased, as Docker stores it.
 */
export function parseExposedPort(spec: string): ExposedPort {
  const match = PORT_SPEC.exec(spec);
  if (match === null) throw invalidPort(spec, 'expected PORT[-END][/PROTOCOL]');
  const start = Number.parseInt(match[1] as string, 10);
  const end = match[2] === undefined ? start : Number.parseInt(match[2], 10);
  const protocol = (match[3] ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.has(protocol)) throw invalidPort(spec, `unknown protocol ${protocol}`);
  if (start < 1 || start > 65535 || end < 1 || end > 65535)
    throw invalidPort(spec, 'ports must be between 1 and 65535');
  if (end < start) throw invalidPort(spec, 'the range ends before it starts');
  if (end - start >= MAX_RANGE) throw invalidPort(spec, 'the range is too large');

  const keys: string[] = [];
  for (let port = start; port <= end; port++) keys.push(`${port}/${protocol}`);
  return { start, end, protocol: protocol as ExposedPort['protocol'], keys };
}
