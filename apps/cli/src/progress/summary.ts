import type { BuildRecord } from './build-record.js';
import { formatBytes, formatCount, formatDuration } from './format.js';

/**
 * Formats the build summary: total time, steps run and cached, bytes pulled and pushed, then one
 * line per stage with its time.
 */
export function formatSummary(record: BuildRecord): string {
  const total = record.durationMs ?? 0;
  const steps = record.steps.length;
  const cached = record.steps.filter((s) => s.cache === 'hit').length;
  const lines = [
    `Build finished in ${formatDuration(total)}: ${formatCount(steps, 'step')}` +
      ` (${cached} cached, ${formatCount(record.cacheMisses, 'cache miss', 'cache misses')}),` +
      ` pulled ${formatBytes(record.bytesPulled)}, pushed ${formatBytes(record.bytesPushed)}`,
  ];
  for (const stage of record.stages) {
    const name =
      stage.name === undefined ? `stage ${stage.index}` : `stage ${stage.index} (${stage.name})`;
    lines.push(`  ${name} FROM ${stage.base}: ${formatDuration(stage.durationMs ?? 0)}`);
  }
  return `${lines.join('\n')}\n`;
}
