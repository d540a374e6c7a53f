import { describe, expect, it } from 'vitest';
import type { Descriptor, Platform } from './descriptor.js';
import { OciSpecError } from './errors.js';
import { MediaType } from './media-types.js';
import {
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectManifest,
} from './platform.js';

describe('parsePlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/i386', 'linux/386'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64/8', 'linux/arm64/v8'],
    ['linux/arm64/v8.0', 'linux/arm64/v8'],
    ['linux/arm64/v8.2', 'linux/arm64/v8.2'],
    ['linux/arm64/9', 'linux/arm64/v9'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/ppc64le', 'linux/ppc64le'],
    ['linux/s390x', 'linux/s390x'],
    ['linux/riscv64', 'linux/riscv64'],
    ['macos/arm64', 'darwin/arm64/v8'],
    ['arm64', 'linux/arm64/v8'],
    ['aarch64', 'linux/arm64/v8'],
  ])('%s -> %s', (input, expected) => {
    expect(formatPlatform(parsePlatform(input))).toBe(expected);
  });

  it('takes the host architecture for a lone OS', () => {
    const parsed = parsePlatform('linux');
    expect(parsed.os).toBe('linux');
    expect(parsed.architecture).toBe(hostPlatform().architecture);
  });

  it('reads an os.version in parentheses', () => {
    const parsed = parsePlatform('windows(10.0.17763)/amd64');
    expect(parsed).toEqual({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763' });
  });

  it.each([
    ['empty', ''],
    ['too many parts', 'linux/arm/v7/extra'],
    ['unknown single word', 'toaster'],
    ['empty component', 'linux//v7'],
    ['invalid characters', 'linux/amd 64'],
  ])('rejects %s', (_name, input) => {
    let caught: unknown;
    try {
      parsePlatform(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OciSpecError);
    expect((caught as OciSpecError).code).toBe('INVALID_PLATFORM');
    expect((caught as OciSpecError).hint).toMatch(/OS\/ARCH/);
  });
});

describe('normalizePlatform', () => {
  it('keeps os.version and features', () => {
    const platform: Platform = {
      os: 'Windows',
      architecture: 'x86_64',
      'os.version': '10.0',
      'os.features': ['win32k'],
    };
    expect(normalizePlatform(platform)).toEqual({
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0',
      'os.features': ['win32k'],
    });
  });

  it('hostPlatform is normalised', () => {
    const host = hostPlatform();
    expect(normalizePlatform(host)).toEqual(host);
    expect(host.os).toBe(process.platform === 'win32' ? 'windows' : process.platform);
  });
});

describe('compatiblePlatforms', () => {
  const format = (platforms: Platform[]) => platforms.map(formatPlatform);

  it.each([
    ['linux/amd64', ['linux/amd64', 'linux/386']],
    ['linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']],
    ['linux/arm/v7', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v5', ['linux/arm/v5']],
    [
      'linux/arm64',
      ['linux/arm64/v8', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5'],
    ],
    [
      'linux/arm64/v8.2',
      [
        'linux/arm64/v8.2',
        'linux/arm64/v8.1',
        'linux/arm64/v8',
        'linux/arm/v8',
        'linux/arm/v7',
        'linux/arm/v6',
        'linux/arm/v5',
      ],
    ],
    [
      'linux/arm64/v9.1',
      [
        'linux/arm64/v9.1',
        'linux/arm64/v9',
        'linux/arm64/v8.6',
        'linux/arm64/v8.5',
        'linux/arm64/v8.4',
        'linux/arm64/v8.3',
        'linux/arm64/v8.2',
        'linux/arm64/v8.1',
        'linux/arm64/v8',
        'linux/arm/v8',
        'linux/arm/v7',
        'linux/arm/v6',
        'linux/arm/v5',
      ],
    ],
    ['linux/s390x', ['linux/s390x']],
  ])('%s', (input, expected) => {
    expect(format(compatiblePlatforms(parsePlatform(input)))).toEqual(expected);
  });

  it('platformMatches uses the fallbacks but not the reverse', () => {
    expect(
      platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: '386' }),
    ).toBe(true);
    expect(
      platformMatches(parsePlatform('linux/386'), { os: 'linux', architecture: 'amd64' }),
    ).toBe(false);
    expect(
      platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'aarch64' }),
    ).toBe(true);
    expect(
      platformMatches(parsePlatform('linux/arm/v6'), {
        os: 'linux',
        architecture: 'arm',
        variant: 'v7',
      }),
    ).toBe(false);
    expect(
      platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }),
    ).toBe(false);
  });
});

describe('selectManifest', () => {
  let counter = 0;
  function entry(platform?: Platform): Descriptor {
    counter += 1;
    const descriptor: Descriptor = {
      mediaType: MediaType.OciManifest,
      digest: `sha256:${counter.toString(16).padStart(64, '0')}`,
      size: 100 + counter,
    };
    if (platform !== undefined) descriptor.platform = platform;
    return descriptor;
  }

  const amd64 = entry({ os: 'linux', architecture: 'amd64' });
  const i386 = entry({ os: 'linux', architecture: '386' });
  const armV5 = entry({ os: 'linux', architecture: 'arm', variant: 'v5' });
  const armV6 = entry({ os: 'linux', architecture: 'arm', variant: 'v6' });
  const armV7 = entry({ os: 'linux', architecture: 'arm', variant: 'v7' });
  const arm64NoVariant = entry({ os: 'linux', architecture: 'arm64' });
  const arm64V8 = entry({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  const windows = entry({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' });
  const attestation = entry({ os: 'unknown', architecture: 'unknown' });
  const noPlatform = entry();

  it.each([
    ['exact amd64', [attestation, i386, amd64], 'linux/amd64', amd64],
    ['386 fallback for amd64', [armV7, i386, attestation], 'linux/amd64', i386],
    ['exact arm/v7 before v6', [armV5, armV6, armV7], 'linux/arm/v7', armV7],
    ['older arm variant ordered best first', [armV5, armV6], 'linux/arm/v7', armV6],
    ['arm64 without variant matches v8', [amd64, arm64NoVariant], 'linux/arm64/v8', arm64NoVariant],
    ['arm64 v8 entry matches plain arm64', [amd64, arm64V8], 'linux/arm64', arm64V8],
    ['arm64 prefers arm64 over arm/v7', [armV7, arm64V8], 'linux/arm64', arm64V8],
    ['arm64 falls back to arm/v7', [amd64, armV7, armV6], 'linux/arm64', armV7],
    ['first of equal entries wins', [arm64NoVariant, arm64V8], 'linux/arm64', arm64NoVariant],
    ['no match', [amd64, i386], 'linux/arm64', undefined],
    ['windows is not linux', [windows], 'linux/amd64', undefined],
    ['entries without platform are skipped', [noPlatform], 'linux/amd64', undefined],
    ['arm/v6 does not run v7', [armV7], 'linux/arm/v6', undefined],
  ])('%s', (_name, manifests, wanted, expected) => {
    expect(selectManifest({ manifests }, parsePlatform(wanted))).toBe(expected);
  });

  it('compares os.version when both sides give one', () => {
    const wanted = { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' };
    expect(selectManifest({ manifests: [windows] }, wanted)).toBe(windows);
    expect(
      selectManifest({ manifests: [windows] }, { ...wanted, 'os.version': '10.0.20348.1' }),
    ).toBeUndefined();
  });
});
