import { parseDigest } from './digest.js';
import { OciSpecError } from './errors.js';

/** Registry name that Docker Hub references normalise to. */
export const DOCKER_HUB_REGISTRY = 'docker.io';

// Limits and grammar of the distribution reference format (distribution/reference, reference.go).
const NAME_TOTAL_LENGTH_MAX = 255;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_GRAMMAR = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_GRAMMAR = /^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$/;
const TAG_GRAMMAR = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;

function invalid(input: string, reason: string, hint: string, cause?: unknown): OciSpecError {
  return new OciSpecError(
    'INVALID_REFERENCE',
    `invalid image reference ${JSON.stringify(input)}: ${reason}`,
    {
      hint,
      cause,
    },
  );
}

/** A parsed, normalised image reference such as `docker.io/library/busybox:1.36`. */
export class ImageReference {
  /** Registry host with optional port; `docker.io` for Docker Hub. */
  readonly registry: string;
  /** Repository path inside the registry, for example `library/busybox`. */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;

  constructor(registry: string, repository: string, tag?: string, digest?: string) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
    this.digest = digest;
  }

  /** Returns `registry/repository`, without tag or digest. */
  name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** Returns the digest when there is one, else the tag: the last segment of a manifest URL. */
  identifier(): string | undefined {
    return this.digest ?? this.tag;
  }

  /** Returns the short form Docker prints: `busybox:latest` for `docker.io/library/busybox:latest`. */
  familiarString(): string {
    let name = this.name();
    if (this.registry === DOCKER_HUB_REGISTRY) {
      name =
        this.repository.startsWith('library/') && this.repository.split('/').length === 2
          ? this.repository.slice('library/'.length)
          : this.repository;
    }
    return `${name}${this.tag === undefined ? '' : `:${this.tag}`}${this.digest === undefined ? '' : `@${this.digest}`}`;
  }

  /** Returns the canonical form `registry/repository[:tag][@digest]`. */
  toString(): string {
    return `${this.name()}${this.tag === undefined ? '' : `:${this.tag}`}${this.digest === undefined ? '' : `@${this.digest}`}`;
  }

  /** Returns the same repository with this tag and no digest. */
  withTag(tag: string): ImageReference {
    if (!TAG_GRAMMAR.test(tag)) {
      throw invalid(`${this.name()}:${tag}`, `invalid tag ${JSON.stringify(tag)}`, TAG_HINT);
    }
    return new ImageReference(this.registry, this.repository, tag);
  }

  /** Returns the same repository and tag pinned to this digest. */
  withDigest(digest: string): ImageReference {
    try {
      parseDigest(digest);
    } catch (error) {
      throw invalid(
        `${this.name()}@${digest}`,
        `invalid digest ${JSON.stringify(digest)}`,
        DIGEST_HINT,
        error,
      );
    }
    return new ImageReference(this.registry, this.repository, this.tag, digest);
  }
}

const TAG_HINT =
  'A tag has at most 128 characters: letters, digits, "_", "." and "-", not starting with "." or "-".';
const DIGEST_HINT = 'A digest is "sha256:" followed by 64 lower-case hex characters.';
const NAME_HINT =
  'A repository name is lower-case letters and digits separated by "/", ".", "_", "__" or "-", optionally after a registry host such as "registry.example.com:5000/".';

export interface ParseReferenceOptions {
  /** Tag applied when the reference has neither tag nor digest; `false` leaves both unset. Default 'latest'. */
  defaultTag?: string | false;
}

/** Splits `name` into registry and repository the way Docker does, applying docker.io and library/. */
function splitRegistry(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const looksLikeHost =
    first !== '' && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  if (!looksLikeHost) {
    const repository = slash === -1 ? `library/${name}` : name;
    return { registry: DOCKER_HUB_REGISTRY, repository };
  }
  let registry = first;
  let repository = name.slice(slash + 1);
  if (registry === 'index.docker.io') registry = DOCKER_HUB_REGISTRY;
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes('/'))
    repository = `library/${repository}`;
  return { registry, repository };
}

/**
 * Parses an image reference with the distribution grammar and Docker's normalisation:
 * `busybox` becomes `docker.io/library/busybox:latest`, and `index.docker.io` becomes `docker.io`.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== 'string' || input === '') {
    throw invalid(
      String(input),
      'empty reference',
      'Give an image reference such as "busybox:latest".',
    );
  }
  if (/\s/.test(input)) throw invalid(input, 'contains whitespace', NAME_HINT);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (error) {
      throw invalid(input, `invalid digest ${JSON.stringify(digest)}`, DIGEST_HINT, error);
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_GRAMMAR.test(tag))
      throw invalid(input, `invalid tag ${JSON.stringify(tag)}`, TAG_HINT);
  }

  if (rest === '') throw invalid(input, 'missing repository name', NAME_HINT);
  if (HEX64.test(rest)) {
    throw invalid(
      input,
      'a 64-character hex string is an image ID, not a repository name',
      'Use "NAME@sha256:HEX" to refer to an image by digest.',
    );
  }

  const { registry, repository } = splitRegistry(rest);
  if (!DOMAIN_GRAMMAR.test(registry)) {
    throw invalid(
      input,
      `invalid registry host ${JSON.stringify(registry)}`,
      'A registry is a host name or IP address with an optional ":PORT".',
    );
  }
  for (const component of repository.split('/')) {
    if (component !== component.toLowerCase()) {
      throw invalid(
        input,
        `repository name must be lower-case, got ${JSON.stringify(repository)}`,
        NAME_HINT,
      );
    }
    if (!PATH_COMPONENT_GRAMMAR.test(component)) {
      throw invalid(
        input,
        `invalid repository path component ${JSON.stringify(component)}`,
        NAME_HINT,
      );
    }
  }
  const fullName = `${registry}/${repository}`;
  if (fullName.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(
      input,
      `repository name is ${fullName.length} characters, more than the maximum ${NAME_TOTAL_LENGTH_MAX}`,
      'Use a shorter repository name.',
    );
  }

  const defaultTag = options.defaultTag ?? 'latest';
  if (tag === undefined && digest === undefined && defaultTag !== false) tag = defaultTag;
  return new ImageReference(registry, repository, tag, digest);
}

/** Returns the reference as is, or parses a string. */
export function toReference(reference: ImageReference | string): ImageReference {
  return typeof reference === 'string' ? parseReference(reference) : reference;
}
