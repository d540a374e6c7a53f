import type { ContainerConfig } from '@kiln/oci-spec';
import type { CommandForm, Instruction } from '@kiln/dockerfile-parser';
import { setEnv } from './environment.js';

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
 * config fields, and returns its history text. Instructions that touch files return undefined.
 */
export function applyMetadataInstruction(
  state: MetadataState,
  instruction: Instruction,
): string | undefined {
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
      state.cmdSetInStage = true;
      return `CMD ${JSON.stringify(config.Cmd)}`;
    case 'entrypoint':
      config.Entrypoint = commandArgv(instruction.command, state.shell);
      // An ENTRYPOINT resets a CMD inherited from the base image, but not one set in this stage.
      if (!state.cmdSetInStage) delete config.Cmd;
      return `ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`;
    case 'user':
      config.User = instruction.user;
      return `USER ${instruction.user}`;
    case 'expose': {
      config.ExposedPorts = { ...config.ExposedPorts };
      const ports = instruction.ports.flatMap(expandPortSpec);
      for (const port of ports) config.ExposedPorts[port] = {};
      return `EXPOSE ${ports.join(' ')}`;
    }
    case 'volume':
      config.Volumes = { ...config.Volumes };
      for (const volume of instruction.paths) config.Volumes[volume] = {};
      return `VOLUME ${JSON.stringify(instruction.paths)}`;
    case 'stopsignal':
      config.StopSignal = instruction.signal;
      return `STOPSIGNAL ${instruction.signal}`;
    case 'shell':
      config.Shell = [...instruction.shell];
      state.shell = [...instruction.shell];
      return `SHELL ${JSON.stringify(instruction.shell)}`;
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
      return `HEALTHCHECK ${JSON.stringify(test)}`;
    }
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.expression];
      return `ONBUILD ${instruction.expression}`;
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
