/** A mount that the RUN sandbox makes inside the stage's root filesystem, in its own mount namespace. */
export type SandboxMount =
  | { kind: 'proc'; target: string }
  | { kind: 'sys'; target: string }
  | { kind: 'dev'; target: string }
  | { kind: 'tmpfs'; target: string }
  | { kind: 'bind'; source: string; target: string; readOnly?: boolean };

export interface ChrootCommandOptions {
  /** Absolute host path of the stage's root filesystem. */
  rootfs: string;
  /** The command and its arguments, run inside the root filesystem. */
  argv: string[];
  /** Working directory inside the root filesystem; it must exist. */
  cwd: string;
  uid: number;
  gid: number;
  /** Supplementary group ids. */
  groups: number[];
  /** The command's whole environment as `NAME=value` entries; nothing of the host's leaks in. */
  env: string[];
  /** Targets are absolute paths inside the root filesystem. */
  mounts: SandboxMount[];
  /** `none` adds a new network namespace (loopback only); default `host`, the host's network. */
  network?: 'host' | 'none';
  /** Absolute paths of the host programs used around the command. */
  hostTools?: Partial<HostTools>;
}

export interface HostTools {
  sh: string;
  unshare: string;
  setpriv: string;
  perl: string;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  /** Environment of the set-up script itself; the command gets only its own, read from fd 3. */
  env: Record<string, string>;
  /** The command's environment as NUL-terminated `NAME=value` entries, to write to the child's fd 3. */
  envInput: string;
}

/** The file descriptor on which the sandbox reads the command's environment. */
export const ENV_INPUT_FD = 3;

export const DEFAULT_HOST_TOOLS: HostTools = {
  sh: '/bin/sh',
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  perl: '/usr/bin/perl',
};

const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Exit status of the set-up script when a mount fails, so it is not mistaken for the command's own. */
export const SANDBOX_SETUP_EXIT_CODE = 125;

// Values never go into an argv, because /proc/PID/cmdline shows argv to every host user. perl reads
// them from a pipe and execs with exactly them. `env -i` takes values only from argv, and dash drops
// names such as `a.b` and adds PWD. perl comes with Debian's perl-base, which is marked Essential.
const ENV_LOADER = `
sub fail { print STDERR "kiln sandbox: $_[0]: $!\\n"; exit ${SANDBOX_SETUP_EXIT_CODE}; }
open(my $in, '<&=', ${ENV_INPUT_FD}) or fail('reading the environment failed');
local $/ = "\\0";
my %env;
while (my $entry = <$in>) {
  chomp $entry;
  my ($name, $value) = split /=/, $entry, 2;
  $env{$name} = $value if defined $value;
}
close $in;
%ENV = %env;
exec { $ARGV[0] } @ARGV;
fail("starting $ARGV[0] failed");
`;

/** Device nodes that the minimal /dev of the sandbox gets from the host, each bound on its own. */
const DEVICE_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

// The script takes every path as a positional argument, so no value is ever parsed as shell code.
// Arguments: SETPRIV ROOT CWD UID GID GROUPS N [KIND SOURCE TARGET]*N, then the rest of the chain.
const SETUP_SCRIPT = `
fail() { echo "kiln sandbox: $*" >&2; exit ${SANDBOX_SETUP_EXIT_CODE}; }
setpriv=$1 root=$2 cwd=$3 uid=$4 gid=$5 groups=$6 n=$7
shift 7
# A new network namespace starts with loopback down; RUN --network=none keeps loopback, as Docker does.
# NOTE: without the host's ip tool, loopback stays down.
if [ -n "$KILN_LOOPBACK" ] && command -v ip >/dev/null; then
  ip link set lo up || fail "bringing up loopback failed"
fi
while [ "$n" -gt 0 ]; do
  kind=$1 src=$2 dst=$root$3
  shift 3
  n=$((n - 1))
  case $kind in
    proc) mount -t proc -o nosuid,nodev,noexec proc "$dst" || fail "mounting proc on $dst failed" ;;
    sys)
      mount --bind /sys "$dst" || fail "binding /sys on $dst failed"
      mount -o remount,bind,ro "$dst" || fail "making $dst read-only failed" ;;
    dev)
      mount -t tmpfs -o mode=755,nosuid tmpfs "$dst" || fail "mounting tmpfs on $dst failed"
      for node in ${DEVICE_NODES.join(' ')}; do
        [ -e "/dev/$node" ] || continue
        : > "$dst/$node" && mount --bind "/dev/$node" "$dst/$node" || fail "binding /dev/$node failed"
      done
      mkdir "$dst/pts" "$dst/shm" "$dst/pipes" && ln -s /proc/self/fd "$dst/fd" && ln -s /proc/self/fd/0 "$dst/stdin" &&
        ln -s /proc/self/fd/1 "$dst/stdout" && ln -s /proc/self/fd/2 "$dst/stderr" || fail "populating $dst failed" ;;
    bind) mount --bind "$src" "$dst" || fail "binding $src on $dst failed" ;;
    robind)
      mount --bind "$src" "$dst" || fail "binding $src on $dst failed"
      mount -o remount,bind,ro "$dst" || fail "making $dst read-only failed" ;;
    tmpfs) mount -t tmpfs -o mode=755 tmpfs "$dst" || fail "mounting tmpfs on $dst failed" ;;
    *) fail "unknown mount kind $kind" ;;
  esac
done
if [ -n "$groups" ]; then set -- --groups "$groups" -- "$@"; else set -- --clear-groups -- "$@"; fi
exec "$setpriv" --regid "$gid" "$@"
`;

/**
 * Builds the host command that runs `argv` chrooted into `rootfs` in private mount and PID
 * namespaces. The mounts exist only in that namespace, so they vanish with it, also when the command
 * fails. When unshare is killed, `--kill-child` kills the command, and with it the whole PID namespace.
 * unshare starts through `setpriv --pdeathsig KILL`, so it dies when the calling process dies.
 * The chain after the mounts is `setpriv` (gid and supplementary groups, while still root), then perl.
 * perl replaces the environment with the command's own, read from fd 3 so that no value is in argv.
 * Last comes `unshare --root --wd --setuid` (root, directory and uid), because unshare's own
 * --setgid would drop the supplementary groups. argv[0] is looked up in the image.
 */
export function buildChrootCommand(options: ChrootCommandOptions): SpawnSpec {
  const { rootfs, argv, cwd, uid, gid, groups, mounts } = options;
  if (argv.length === 0) throw new TypeError('buildChrootCommand: argv must not be empty');
  const tools = { ...DEFAULT_HOST_TOOLS, ...options.hostTools };

  const mountArgs = mounts.flatMap((m) =>
    m.kind === 'bind'
      ? [m.readOnly ? 'robind' : 'bind', m.source, m.target]
      : [m.kind, '-', m.target],
  );
  const invalid = options.env.find((entry) => entry.includes('\0') || !entry.includes('='));
  if (invalid !== undefined) {
    const name = JSON.stringify(invalid.split('=')[0]);
    throw new TypeError(
      `buildChrootCommand: invalid env entry ${name}: expected NAME=value without NUL bytes`,
    );
  }
  const chain = [tools.perl, '-e', ENV_LOADER, tools.unshare, `--root=${rootfs}`, `--wd=${cwd}`];
  if (uid !== 0) chain.push(`--setuid=${uid}`);
  chain.push('--', ...argv);

  const scriptArgs = [
    tools.setpriv,
    rootfs,
    cwd,
    String(uid),
    String(gid),
    groups.join(','),
    String(mounts.length),
    ...mountArgs,
  ];
  return {
    // The kernel sends SIGKILL to unshare when kiln's main thread dies, even by SIGKILL, and
    // unshare's --kill-child then takes the whole PID namespace with it.
    file: tools.setpriv,
    env: { PATH: HOST_PATH, ...(options.network === 'none' ? { KILN_LOOPBACK: '1' } : {}) },
    envInput: options.env.map((entry) => `${entry}\0`).join(''),
    args: [
      '--pdeathsig',
      'KILL',
      '--',
      tools.unshare,
      '--mount',
      '--pid',
      ...(options.network === 'none' ? ['--net'] : []),
      '--propagation',
      'private',
      '--fork',
      '--kill-child',
      '--',
      tools.sh,
      '-c',
      SETUP_SCRIPT,
      'kiln-sandbox',
      ...scriptArgs,
      ...chain,
    ],
  };
}
