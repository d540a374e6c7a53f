import type { IgnoreRule } from '@kiln/testkit';

/** One Dockerfile that Kiln and buildah must turn into the same files and config. */
export interface EquivalenceCase {
  name: string;
  dockerfile: string;
  /** Context files besides the Dockerfile. */
  files?: Record<string, string>;
  /** Shell commands run in the context directory after the files are written (to make archives). */
  prepare?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** Differences where buildah departs from Docker's builder, each with the Docker behaviour. */
  ignore?: IgnoreRule[];
  /** Env that Docker's builder writes, checked on Kiln's image where buildah's differs. */
  dockerEnv?: string[];
  /** Cmd that Docker's builder writes, checked on Kiln's image where buildah's differs. */
  dockerCmd?: string[];
}

const BUSYBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const EQUIVALENCE_CASES: readonly EquivalenceCase[] = [
  {
    name: 'config fields',
    dockerfile: [
      'FROM busybox',
      'ENV A=1 B="two words"',
      'LABEL org.example.name=demo other="x y"',
      'EXPOSE 8080 53/udp',
      'VOLUME /data',
      'WORKDIR /srv/app',
      'USER 65534:65534',
      'STOPSIGNAL SIGTERM',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["echo hi"]',
      '',
    ].join('\n'),
    ignore: [
      ...['/srv', '/srv/app'].map((workdir) => ({
        path: workdir,
        onlyIn: 'a' as const,
        reason:
          "BuildKit's WORKDIR creates the directory as its own layer (dispatchWorkdir adds a Mkdir); buildah 1.28 creates it only when a RUN needs it",
      })),
      {
        config: 'layerCount',
        reason: 'the WORKDIR layer above, which BuildKit writes and buildah 1.28 does not',
      },
    ],
  },
  {
    name: 'env replacing an inherited variable',
    dockerfile: ['FROM busybox', 'ENV A=1', 'ENV PATH=/opt/bin:$PATH', ''].join('\n'),
    ignore: [
      {
        config: 'Env',
        reason:
          "Docker replaces an existing variable where it stands (addEnv in BuildKit's dockerfile2llb); buildah 1.28 moves it to the end",
      },
    ],
    dockerEnv: [`PATH=/opt/bin:${BUSYBOX_PATH}`, 'A=1'],
  },
  {
    name: 'copy ownership and modes',
    dockerfile: [
      'FROM busybox',
      'COPY a.txt /dst/',
      'COPY --chown=65534:65534 dir/ /owned/deep/',
      'COPY --chmod=0700 a.txt /private/a.txt',
      'ADD a.txt /added',
      '',
    ].join('\n'),
    files: { 'a.txt': 'alpha\n', 'dir/b.txt': 'beta\n', 'dir/sub/c.txt': 'gamma\n' },
  },
  {
    name: 'run changes',
    dockerfile: [
      'FROM busybox',
      'RUN mkdir -p /out && echo hello > /out/hello && ln -s hello /out/link && ln /out/hello /out/hard',
      'RUN rm /bin/vi && chmod 700 /out',
      'ARG NAME=world',
      'RUN echo "$NAME" > /out/name',
      '',
    ].join('\n'),
    buildArgs: { NAME: 'kiln' },
  },
  {
    name: 'multi-stage target',
    dockerfile: [
      'FROM busybox AS build',
      'RUN mkdir /dist && echo built > /dist/app',
      'FROM busybox AS unused',
      'RUN exit 1',
      'FROM busybox',
      'COPY --from=build /dist/ /app/',
      'WORKDIR /app',
      'CMD ["cat", "app"]',
      '',
    ].join('\n'),
  },
  {
    name: 'health check, shell and onbuild',
    dockerfile: [
      'FROM busybox',
      'SHELL ["/bin/sh", "-ec"]',
      'HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD wget -q -O- http://127.0.0.1/ || exit 1',
      'ONBUILD RUN echo child',
      'RUN echo shell > /shell.txt',
      'CMD echo done',
      '',
    ].join('\n'),
    ignore: [
      {
        config: 'Cmd',
        reason:
          'Docker wraps a shell-form CMD in the SHELL of the stage (withShell in dockerfile2llb); buildah 1.28 keeps /bin/sh -c',
      },
    ],
    dockerCmd: ['/bin/sh', '-ec', 'echo done'],
  },
  {
    name: 'copy links and owner names',
    dockerfile: [
      'FROM busybox',
      'COPY --chown=nobody:nogroup tree/ /tree/',
      'RUN ln -s /tree/file /link && ln /tree/file /tree/hard && mkdir -p /deep/a/b',
      'COPY --chown=nobody tree/file /deep/a/b/c/',
      '',
    ].join('\n'),
    files: { 'tree/file': 'content\n', 'tree/sub/inner': 'inner\n' },
    ignore: [
      {
        path: '/tree/hard',
        fields: ['hardlinkOf'],
        reason:
          'linking a file of a lower layer copies it up on overlayfs, so BuildKit writes both names as one hardlinked pair; buildah with vfs writes the new name as a separate file',
      },
    ],
  },
  {
    name: 'add local archives',
    dockerfile: [
      'FROM busybox',
      'ADD payload.tar.gz /unpacked/',
      'ADD payload.tar.xz /xz/',
      'ADD plain.txt /plain/',
      '',
    ].join('\n'),
    files: { 'payload/a.txt': 'a\n', 'payload/dir/b.txt': 'b\n', 'plain.txt': 'plain\n' },
    prepare:
      'tar --owner=1000 --group=1000 -czf payload.tar.gz payload && tar -cJf payload.tar.xz payload',
  },
];
