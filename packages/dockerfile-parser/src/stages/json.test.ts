import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './assemble.js';
import { toJsonDocument } from './json.js';

describe('toJsonDocument', () => {
  it('round-trips through JSON without the tree', () => {
    const parsed = parseDockerfile(
      'ARG UNSET\nARG TAG=1\nFROM alpine:$TAG AS base\nRUN echo hi\nFROM base\nCMD echo\n',
    );
    const document = JSON.parse(JSON.stringify(toJsonDocument(parsed))) as Record<string, unknown>;
    expect(Object.keys(document).sort()).toEqual(
      [
        'buildOrder',
        'directives',
        'escapeToken',
        'metaArgValues',
        'metaArgs',
        'stages',
        'target',
        'warnings',
      ].sort(),
    );
    expect(document.target).toBe(1);
    expect(document.metaArgValues).toEqual({ UNSET: null, TAG: '1' });
    expect(document).toMatchObject({
      stages: [
        {
          index: 0,
          name: 'base',
          from: { image: 'alpine:1' },
          instructions: [{ kind: 'run', command: { form: 'shell', command: 'echo hi' } }],
        },
        { index: 1, from: { image: 'base', stageRef: 0 }, dependsOn: [0] },
      ],
      warnings: [{ rule: 'JSONArgsRecommended', location: { startLine: 6 } }],
    });
  });
});
