import type { ContainerConfig } from '@kiln/oci-spec';
import type { CommandForm, Instruction } from '@kiln/dockerfile-parser';
import { setEnv } from './environment.js';
import { goDuration, goList, goQuoteRune, goQuotedList, goSet } from './go-format.js';

/** Stage state that metadata instructions change besides the container config. */
export interface MetadataState {
  config: ContainerConfig;
  /** The stage's SHELL, used for shell-form RUN, CMD and ENTRYPOINT. */
  shell: string[];
  /** Set once CMD appears in this stage, so ENTRYPOINT no longer resets an inherited CMD. */
  cmdSetInStage: boolean;
  author: string | undefined;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Returns the argv of a CMD, ENTRYPOINT or RUN in shell or exec form. */
export function commandArgv(command: CommandForm, shell: readonly string[]): string[] {
  return command.form === 'exec' ? [...command.args] : [...shell, command.command];
}

/**
 * Applies one metadata-only instruction (already expanded) to the state, the way Docker sets the
 * config fields, and returns its history text in BuildKit's wording (Go `%q`/`%v` formatting).
 * ONBUILD returns null: BuildKit adds no history entry for it. Instructions that touch files
 * return undefined.
 */
export function applyMetadataInstruction(
  state: MetadataState,
  instruction: Instruction,
): string | null | undefined {
  const config = state.config;
  switch (instruction.kind) {
    case 'env': {
      let env = config.Env ?? [];
      for (const { key, value } of instruction.pairs) env = setEnv(env, key, value);
      config.Env = env;
      return `ENV ${instruction.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    }
    case 'label':
      config.Labels = { ...config.Labels };
      for (const { key, value } of instruction.pairs) config.Labels[key] = value;
      return `LABEL ${instruction.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'cmd':
      config.Cmd = commandArgv(instruction.command, state.shell);
      // BuildKit marks every CMD's arguments as escaped, a flag Windows images read.
      config.ArgsEscaped = true;
      state.cmdSetInStage = true;
      return `CMD ${goQuotedList(config.Cmd)}`;
    case 'entrypoint':
      config.Entrypoint = commandArgv(instruction.command, state.shell);
      // An ENTRYPOINT resets a CMD inherited from the base image, but not one set in this stage.
      if (!state.cmdSetInStage) delete config.Cmd;
      return `ENTRYPOINT ${goQuotedList(config.Entrypoint)}`;
    case 'user':
      config.User = instruction.user;
      return `USER ${instruction.user}`;
    case 'expose': {
      config.ExposedPorts = { ...config.ExposedPorts };
      const ports = instruction.ports.flatMap(expandPortSpec);
      for (const port of ports) config.ExposedPorts[port] = {};
      return `EXPOSE ${goSet(ports)}`;
    }
    case 'volume':
      config.Volumes = { ...config.Volumes };
      for (const volume of instruction.paths) config.Volumes[volume] = {};
      return `VOLUME ${goList(instruction.paths)}`;
    case 'stopsignal':
      config.StopSignal = instruction.signal;
      return `STOPSIGNAL ${instruction.signal}`;
    case 'shell':
      config.Shell = [...instruction.shell];
      state.shell = [...instruction.shell];
      return `SHELL ${goList(instruction.shell)}`;
    case 'healthcheck': {
      const { test, interval, timeout, startPeriod, startInterval, retries } = instruction;
      config.Healthcheck = {
        Test: [...test],
        ...(interval === undefined ? {} : { Interval: interval }),
        ...(timeout === undefined ? {} : { Timeout: timeout }),
        ...(startPeriod === undefined ? {} : { StartPeriod: startPeriod }),
        ...(startInterval === undefined ? {} : { StartInterval: startInterval }),
        ...(retries === undefined ? {} : { Retries: retries }),
      };
      const durations = [interval, timeout, startPeriod, startInterval].map(
        (ns) => `"${goDuration(ns ?? 0)}"`,
      );
      return `HEALTHCHECK &{${[goQuotedList(test), ...durations, goQuoteRune(retries ?? 0)].join(' ')}}`;
    }
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.expression];
      return null;
    case 'maintainer':
      state.author = instruction.maintainer;
      return `MAINTAINER ${instruction.maintainer}`;
    default:
      return undefined;
  }
}

/** Expands an EXPOSE value to Docker's `port/proto` keys; a range `8000-8002/udp` gives one key per port. */
export function expandPortSpec(spec: string): string[] {
  const [ports = '', protocol = 'tcp'] = spec.split('/', 2);
  const range = /^(\d+)-(\d+)$/.exec(ports);
  if (!range) return [`${ports}/${protocol.toLowerCase()}`];
  const first = Number(range[1]);
  const last = Number(range[2]);
  const keys: string[] = [];
  for (let port = first; port <= last; port += 1) keys.push(`${port}/${protocol.toLowerCase()}`);
  return keys;
}
