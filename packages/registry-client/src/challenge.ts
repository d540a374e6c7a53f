/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  /** Lower-cased scheme: `basic` or `bearer` (others are kept but not supported). */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses the first challenge of a `WWW-Authenticate` header such as
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const params: Record<string, string> = {};
  const rest = match[2] ?? '';
  // key=value or key="quoted \" value", separated by commas.
  const param = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/gy;
  let found: RegExpExecArray | null;
  while ((found = param.exec(rest)) !== null && found[0] !== '') {
    const value = found[2] === undefined ? (found[3] ?? '') : found[2].replace(/\\(.)/g, '$1');
    params[found[1]!.toLowerCase()] = value;
  }
  return { scheme, params };
}

/** Returns `repository:NAME:ACTIONS`, the token scope for a repository. */
export function repositoryScope(
  repository: string,
  actions: 'pull' | 'push' | 'pull,push',
): string {
  return `repository:${repository}:${actions}`;
}

/**
 * Merges scopes for the same resource into one, so `repository:a:pull,push` and
 * `repository:a:pull` become `repository:a:pull,push`. Scopes that do not parse are kept as they are.
 */
export function mergeScopes(scopes: string[]): string[] {
  const actionsByResource = new Map<string, Set<string>>();
  const unparsed: string[] = [];
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (last <= 0 || scope.indexOf(':') === last) {
      if (scope !== '' && !unparsed.includes(scope)) unparsed.push(scope);
      continue;
    }
    const resource = scope.slice(0, last);
    const actions = actionsByResource.get(resource) ?? new Set<string>();
    for (const action of scope.slice(last + 1).split(',')) if (action !== '') actions.add(action);
    actionsByResource.set(resource, actions);
  }
  const merged = [...actionsByResource].map(
    ([resource, actions]) => `${resource}:${[...actions].join(',')}`,
  );
  return [...merged, ...unparsed];
}
