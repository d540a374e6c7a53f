import type { ImageConfig } from '@kiln/oci-spec';
import { describe, expect, it } from 'vitest';
import type { InstructionContext } from './instruction.js';
import { definePlugin } from './plugin.js';

// The minimal plugin of the README, kept here so that it compiles and behaves as the guide describes.
const helloPlugin = definePlugin({
  name: 'kiln-plugin-hello',
  apiVersion: '^1.0.0',
  instructions: [
    {
      phase: 'build',
      keyword: 'hello',
      effect: 'metadata',
      async run(_instruction, context) {
        context.imageConfig.config = {
          ...context.imageConfig.config,
          Labels: { ...context.imageConfig.config?.Labels, greeting: 'hello' },
        };
      },
    },
  ],
});

describe('README minimal plugin', () => {
  it('adds its label to the image config', async () => {
    const imageConfig: ImageConfig = {
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { team: 'build' }, Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [] },
    };
    const handler = helloPlugin.instructions[0];
    // A metadata handler touches only imageConfig, so the rest of the context can stay unset.
    await handler.run(
      {} as Parameters<typeof handler.run>[0],
      { imageConfig } as InstructionContext,
    );
    expect(imageConfig.config).toEqual({
      Labels: { team: 'build', greeting: 'hello' },
      Cmd: ['sh'],
    });
  });
});
