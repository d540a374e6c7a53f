// Docker's SecretsUsedInArgOrEnv tokens: a name is suspicious when one of its underscore-
// separated parts is a secret word, unless one of its parts marks it as public.
const SECRET =
  /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const PUBLIC = /(?:_|^)public(?:_|$)/i;

/** Returns true when an ARG or ENV name looks like it contains a credential. */
export function looksLikeSecret(name: string): boolean {
  return SECRET.test(name) && !PUBLIC.test(name);
}
