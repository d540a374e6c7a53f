#!/usr/bin/env node
// Compares two images of OCI layouts by file tree (path, type, mode, owner, size, content, link
// target, hardlinks, xattrs; mtimes aside) and by config fields, and prints each difference.
// Usage: node scripts/compare-images.mjs [--strict] [--json] LAYOUT_A[:TAG] LAYOUT_B[:TAG]
// Exit codes: 0 same, 1 differences found, 2 usage error. Needs root (umoci unpack keeps owners)
// and a built test kit: pnpm --filter @kiln/testkit build.
import process from 'node:process';
import { existsSync } from 'node:fs';

const USAGE =
  'usage: node scripts/compare-images.mjs [--strict] [--json] LAYOUT_A[:TAG] LAYOUT_B[:TAG]';

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

/** Splits `dir:tag`; a path that exists as a directory is taken whole, colons and all. */
function parseSide(argument) {
  const colon = argument.lastIndexOf(':');
  if (existsSync(argument) || colon <= 0 || argument.slice(colon + 1).includes('/')) {
    return { layoutDir: argument };
  }
  return { layoutDir: argument.slice(0, colon), tag: argument.slice(colon + 1) };
}

const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const unknown = flags.filter((flag) => flag !== '--strict' && flag !== '--json');
if (unknown.length > 0) fail(`unknown option ${unknown[0]}`);
if (positional.length !== 2) fail(`expected two layouts, got ${positional.length}`);
const [a, b] = positional.map(parseSide);
for (const side of [a, b]) {
  if (!existsSync(`${side.layoutDir}/index.json`))
    fail(`${side.layoutDir} is not an OCI layout (no index.json)`);
}

let testkit;
try {
  testkit = await import('@kiln/testkit');
} catch (error) {
  process.stderr.write(
    `cannot load @kiln/testkit (${error.message}); build it: pnpm --filter @kiln/testkit build\n`,
  );
  process.exit(2);
}
const { BUILD_NOISE_IGNORES, compareImages, formatDifference } = testkit;

const ignore = flags.includes('--strict') ? [] : BUILD_NOISE_IGNORES;
const result = await compareImages(a, b, { ignore });
if (flags.includes('--json')) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  for (const difference of result.differences)
    process.stdout.write(`${formatDifference(difference)}\n`);
  const reasons = new Map();
  for (const { reason } of result.ignored) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  for (const [reason, count] of reasons) process.stdout.write(`ignored ${count}: ${reason}\n`);
  process.stdout.write(
    `${result.differences.length} difference(s); ${result.entryCount.a} entries in A, ${result.entryCount.b} in B\n`,
  );
}
process.exitCode = result.differences.length > 0 ? 1 : 0;
