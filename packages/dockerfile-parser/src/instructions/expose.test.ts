import { describe, expect, it } from 'vitest';
import { DockerfileParseError } from '../errors.js';
import { parseExposedPort } from './expose.js';

describe('parseExposedPort', () => {
  it('defaults to tcp and lower-cases the protocol', () => {
    expect(parseExposedPort('80')).toEqual({
      start: 80,
      end: 80,
      protocol: 'tcp',
      keys: ['80/tcp'],
    });
    expect(parseExposedPort('53/UDP')).toEqual({
      start: 53,
      end: 53,
      protocol: 'udp',
      keys: ['53/udp'],
    });
  });

  it('expands a range into config keys', () => {
    expect(parseExposedPort('8000-8002/sctp').keys).toEqual([
      '8000/sctp',
      '8001/sctp',
      '8002/sctp',
    ]);
  });

  it('rejects invalid ports', () => {
    for (const spec of ['', 'http', '0', '65536', '90-80', '80/icmp', '127.0.0.1:80', '80/']) {
      expect(() => parseExposedPort(spec), spec).toThrow(DockerfileParseError);
    }
  });
});
