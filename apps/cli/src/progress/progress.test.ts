import { describe, expect, it } from 'vitest';
import { BuildRecord } from './build-record.js';
import { JsonProgress } from './json.js';
import { PlainProgress } from './plain.js';
import { RECORDED_BUILD } from './recorded-build.js';
import type { ProgressRenderer } from './renderer.js';
import { formatSummary } from './summary.js';
import { TtyProgress } from './tty.js';

const ESC = String.fromCharCode(27);

/** A terminal stand-in that keeps every write, so tests see each redraw. */
class FakeTerminal {
  readonly isTTY = true;
  readonly writes: string[] = [];
  constructor(readonly columns = 100) {}

  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
}

/** Replays the recorded build into `renderer` with the clock at each event's time. */
function replay(
  make: (now: () => number, record: BuildRecord) => ProgressRenderer,
  until = Infinity,
) {
  let clock = 0;
  const now = () => clock;
  const record = new BuildRecord(now);
  const renderer = make(now, record);
  for (const [time, event] of RECORDED_BUILD) {
    if (time > until) break;
    clock = time;
    record.record(event);
    renderer.event(event);
  }
  return { renderer, record, setClock: (t: number) => (clock = t) };
}

/** Applies the cursor movements the tty renderer writes and returns the visible screen lines. */
function screen(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  const pattern = new RegExp(`${ESC}\\[(\\d+)F${ESC}\\[J|\\n|[^${ESC}\\n]+`, 'g');
  for (const match of text.matchAll(pattern)) {
    const token = match[0];
    if (token === '\n') {
      row++;
      lines[row] ??= '';
    } else if (token.startsWith('\x1b')) {
      row -= Number(match[1]);
      lines.length = row + 1;
      lines[row] = '';
    } else {
      lines[row] += token;
    }
  }
  return lines.filter((line, index) => index < lines.length - 1 || line !== '');
}

describe('TtyProgress', () => {
  it('shows the running step with elapsed time', () => {
    const terminal = new FakeTerminal();
    const { renderer } = replay(
      (now, record) => new TtyProgress(terminal, { verbosity: 'info', now, record, redrawMs: 0 }),
      1400,
    );
    const lines = screen(terminal.text);
    expect(lines).toContain('=> CACHED [0:1/2] COPY src /src, 4.0 KiB');
    expect(lines).toContain('=> [0:2/2] RUN make  running 0.10s');
    expect(lines).toContain('   | compiling');
    renderer.finish();
  });

  it('shows pull bytes, total and rate', () => {
    const terminal = new FakeTerminal();
    const { renderer } = replay(
      (now, record) => new TtyProgress(terminal, { verbosity: 'info', now, record, redrawMs: 0 }),
      600,
    );
    expect(screen(terminal.text)).toContain(
      '   pulling 111111111111 [=========>          ]  1.0 MiB / 2.0 MiB  2.0 MiB/s',
    );
    renderer.finish();
    expect(screen(terminal.text).some((line) => line.includes('pulling'))).toBe(false);
  });

  it('leaves finished steps and outputs on screen', () => {
    const terminal = new FakeTerminal();
    const { renderer } = replay(
      (now, record) => new TtyProgress(terminal, { verbosity: 'info', now, record, redrawMs: 0 }),
    );
    renderer.finish();
    const lines = screen(terminal.text);
    expect(lines).toContain('=> [0:2/2] RUN make  done 2.50s, 3.0 MiB');
    expect(lines).toContain('[stage final] FROM builder');
    expect(lines).toContain('Pushed registry.example/app:1@sha256:' + '3'.repeat(64));
    expect(lines.some((line) => line.includes('running'))).toBe(false);
    expect(lines.some((line) => line.includes('compiling'))).toBe(false);
  });

  it('cuts lines to the terminal width', () => {
    const terminal = new FakeTerminal(40);
    replay(
      (now, record) => new TtyProgress(terminal, { verbosity: 'info', now, record, redrawMs: 0 }),
      600,
    ).renderer.finish();
    for (const write of terminal.writes) {
      for (const line of write
        .replace(new RegExp(`${ESC}\\[\\d+F${ESC}\\[J`, 'g'), '')
        .split('\n')) {
        if (line.startsWith('   pulling')) expect(line.length).toBeLessThanOrEqual(40);
      }
    }
  });
});

describe('PlainProgress', () => {
  it('prints step numbers and times', () => {
    const out = new FakeTerminal();
    replay((now) => new PlainProgress(out, 'info', false, now));
    const lines = out.text.split('\n');
    expect(lines).toContain('[2/2] RUN make');
    expect(lines).toContain('  compiling');
    expect(lines).toContain('  done in 2.50s, layer (3.0 MiB)');
    expect(lines).toContain('  cached, layer (4.0 KiB)');
    expect(out.text).not.toContain('\x1b[');
  });

  it('prefixes timestamps with --log-timestamp', () => {
    const out = new FakeTerminal();
    replay((now) => new PlainProgress(out, 'info', true, now));
    expect(out.text.split('\n')[0]).toMatch(/^1970-01-01T00:00:00\.000Z Building stage final/);
  });
});

describe('JsonProgress', () => {
  it('writes one parseable event per line', () => {
    const out = new FakeTerminal();
    replay((now) => new JsonProgress(out, now));
    const records = out.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; time: string });
    expect(records).toHaveLength(RECORDED_BUILD.length);
    expect(records.map((r) => r.type)).toEqual(RECORDED_BUILD.map(([, e]) => e.type));
    expect(records[4]?.time).toBe('1970-01-01T00:00:01.100Z');
  });
});

describe('build summary', () => {
  it('totals time, cache hits and bytes', () => {
    const { record } = replay((_now) => ({ event: () => undefined, finish: () => undefined }));
    const summary = formatSummary(record).split('\n');
    expect(summary[0]).toBe(
      'Build finished in 4.60s: 2 steps (1 cached, 1 cache miss), pulled 2.0 MiB, pushed 3.0 MiB',
    );
    expect(summary[1]).toBe('  stage 0 (builder) FROM busybox:latest: 3.80s');
    expect(summary[2]).toBe('  stage 1 (final) FROM builder: 0.20s');
  });
});
