import { parseRunMount } from './mount.js';
import {
  commandForm,
  heredocFiles,
  invalid,
  requireAtLeast,
  type ParseRequest,
} from './request.js';
import type { Instruction } from './types.js';

export function parseRun(request: ParseRequest): Instruction {
  requireAtLeast(request, 1);
  const network = request.flags.strings.get('network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
    throw invalid(
      `unsupported network mode ${JSON.stringify(network)}`,
      'Use --network=default, none or host.',
      'INVALID_FLAG',
    );
  }
  const security = request.flags.strings.get('security');
  if (security !== undefined && !['sandbox', 'insecure'].includes(security)) {
    throw invalid(
      `unsupported security mode ${JSON.stringify(security)}`,
      'Use --security=sandbox or insecure.',
      'INVALID_FLAG',
    );
  }
  return {
    location: request.base.location,
    original: request.base.original,
    keyword: request.base.keyword,
    kind: 'run',
    command: commandForm(request),
    mounts: (request.flags.lists.get('mount') ?? []).map(parseRunMount),
    network: network as 'default' | 'none' | 'host' | undefined,
    security: security as 'sandbox' | 'insecure' | undefined,
    heredocs: heredocFiles(request.node),
  };
}
