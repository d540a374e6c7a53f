// Name parts that suggest a secret, and parts that mark it as public, for SecretsUsedInArgOrEnv.
const SECRET_PARTS = new Set([
  'apikey',
  'auth',
  'credential',
  'credentials',
  'key',
  'password',
  'pword',
  'passwd',
  'secret',
  'token',
]);
const PUBLIC_PARTS = new Set(['public']);

function nameParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part.toLowerCase());
}

/** Returns true when an ARG or ENV name looks like it contains a credential. */
export function looksLikeSecret(name: string): boolean {
  const parts = nameParts(name);
  if (parts.some((part) => PUBLIC_PARTS.has(part))) return false;
  return parts.some((part) => SECRET_PARTS.has(part));
}
