import { isDeepStrictEqual } from 'node:util';

import type { ImageConfig } from '@kiln/oci-spec';

export type ConfigField =
  | 'Env'
  | 'Cmd'
  | 'Entrypoint'
  | 'WorkingDir'
  | 'User'
  | 'ExposedPorts'
  | 'Volumes'
  | 'Labels'
  | 'StopSignal'
  | 'Healthcheck'
  | 'OnBuild'
  | 'Shell'
  | 'architecture'
  | 'os'
  | 'layerCount';

export const CONTAINER_CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'ExposedPorts',
  'Volumes',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const satisfies readonly ConfigField[];

export interface ConfigDifference {
  kind: 'config';
  field: ConfigField;
  a: unknown;
  b: unknown;
}

/**
 * Compares the config fields a Dockerfile sets, the platform, and the number of history entries
 * that made a layer. An empty string, array or map counts as unset, because builders differ in
 * whether they write empty values and a container runtime treats both alike.
 */
export function compareConfigs(a: ImageConfig, b: ImageConfig): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  const check = (field: ConfigField, valueA: unknown, valueB: unknown): void => {
    const left = normalize(valueA);
    const right = normalize(valueB);
    if (!isDeepStrictEqual(left, right))
      differences.push({ kind: 'config', field, a: left, b: right });
  };

  const containerA = (a.config ?? {}) as Record<string, unknown>;
  const containerB = (b.config ?? {}) as Record<string, unknown>;
  for (const field of CONTAINER_CONFIG_FIELDS) check(field, containerA[field], containerB[field]);
  check('architecture', a.architecture, b.architecture);
  check('os', a.os, b.os);
  check('layerCount', layerCount(a), layerCount(b));
  return differences;
}

function layerCount(config: ImageConfig): number {
  const history = config.history ?? [];
  return history.filter((entry) => entry.empty_layer !== true).length;
}

function normalize(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value;
  if (typeof value === 'object' && Object.keys(value).length === 0) return undefined;
  return value;
}
