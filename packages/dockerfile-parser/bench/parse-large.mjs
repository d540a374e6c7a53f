// Measures parseDockerfile on a generated 10,000-line Dockerfile. Run after a build:
// `pnpm --filter @kiln/dockerfile-parser build && pnpm --filter @kiln/dockerfile-parser bench`.
import { performance } from 'node:perf_hooks';
import { cpuUsage, stdout } from 'node:process';
import { dumpDockerfile, parseDockerfile } from '../dist/index.js';

const TARGET_LINES = 10_000;
const RUNS = 20;

// Each block is 20 lines and mixes the grammars: continuations, heredocs, flags, JSON, ENV pairs.
function block(index) {
  return [
    `FROM alpine:3.20 AS stage${index}`,
    `ARG VERSION_${index}=1.${index}`,
    `ENV APP_HOME=/srv/app${index} PATH="/srv/app${index}/bin:$PATH"`,
    `LABEL org.opencontainers.image.version="\${VERSION_${index}}"`,
    `WORKDIR /srv/app${index}`,
    `RUN --mount=type=cache,target=/var/cache/apk apk add --no-cache \\`,
    `    curl \\`,
    `    ca-certificates \\`,
    `    && echo done`,
    `COPY --chown=1000:1000 --chmod=0755 src/ ./src/`,
    `COPY <<EOF /etc/app${index}.conf`,
    `name=app${index}`,
    `EOF`,
    `RUN ["sh", "-c", "echo ${index}"]`,
    `EXPOSE 80${index % 10}/tcp`,
    `USER 1000:1000`,
    `HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O- http://localhost/ || exit 1`,
    `# a comment between instructions`,
    `ENTRYPOINT ["/srv/app${index}/bin/app"]`,
    `CMD ["--serve"]`,
  ];
}

const lines = [];
for (let index = 0; lines.length < TARGET_LINES; index++) lines.push(...block(index));
const text = `${lines.slice(0, TARGET_LINES).join('\n')}\n`;

// Wall time depends on what else the machine runs, so CPU time (user + system, which also
// counts garbage collection threads) is reported beside it.
function measure(run) {
  for (let i = 0; i < 3; i++) run();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const startCpu = cpuUsage();
    const start = performance.now();
    run();
    wall.push(performance.now() - start);
    const used = cpuUsage(startCpu);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall: summarize(wall), cpu: summarize(cpu) };
}

function summarize(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

const parse = measure(() =>
  parseDockerfile(text, { platform: { os: 'linux', architecture: 'amd64' } }),
);
const dump = measure(() => dumpDockerfile(text));
const stages = parseDockerfile(text).stages.length;

const format = ({ wall, cpu }) =>
  `wall median ${wall.median.toFixed(1)} ms (min ${wall.min.toFixed(1)}, max ${wall.max.toFixed(1)}), ` +
  `CPU median ${cpu.median.toFixed(1)} ms (min ${cpu.min.toFixed(1)})`;
stdout.write(`lines: ${TARGET_LINES}, stages: ${stages}, runs: ${RUNS}\n`);
stdout.write(`parseDockerfile (typed stages + lint): ${format(parse)}\n`);
stdout.write(`dumpDockerfile (low-level tree only): ${format(dump)}\n`);
