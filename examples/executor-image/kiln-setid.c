/*
 * kiln-setid UID GID GROUPS -- PROGRAM [ARGUMENT...]
 *
 * Sets the supplementary groups (GROUPS, comma-separated ids, may be empty), the gid and the uid,
 * then executes PROGRAM, looked up in the PATH of the environment it was given. kiln's
 * --isolation=none runs each RUN command through it, because Node's spawn clears the
 * supplementary groups whenever it sets a uid or gid. It is linked statically, so it still runs
 * after kiln has replaced / with a base image that has no C library.
 * Exit status: 125 when setting the ids fails, 126 or 127 when PROGRAM cannot be executed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETUP_FAILED 125

static unsigned long parse_id(const char *text, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || *text == '\0' || *end != '\0' || value > 0xfffffffeUL) {
    fprintf(stderr, "kiln-setid: invalid %s \"%s\"\n", what, text);
    exit(SETUP_FAILED);
  }
  return value;
}

static void fail(const char *step) {
  fprintf(stderr, "kiln-setid: %s failed: %s\n", step, strerror(errno));
  exit(SETUP_FAILED);
}

int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "kiln-setid: usage: kiln-setid UID GID GROUPS -- PROGRAM [ARGUMENT...]\n");
    return SETUP_FAILED;
  }
  uid_t uid = (uid_t)parse_id(argv[1], "uid");
  gid_t gid = (gid_t)parse_id(argv[2], "gid");

  /* A list of n ids has at least n - 1 commas, so this bounds the count. */
  size_t capacity = strlen(argv[3]) / 2 + 1;
  gid_t *groups = calloc(capacity, sizeof(gid_t));
  if (groups == NULL) fail("allocating the group list");
  size_t count = 0;
  for (char *part = strtok(argv[3], ","); part != NULL; part = strtok(NULL, ","))
    groups[count++] = (gid_t)parse_id(part, "group id");

  /* Groups and gid first, because after setuid the process may no longer change them. */
  if (setgroups(count, groups) != 0) fail("setgroups");
  if (setgid(gid) != 0) fail("setgid");
  if (setuid(uid) != 0) fail("setuid");
  free(groups);

  execvp(argv[5], argv + 5);
  int code = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "kiln-setid: executing %s failed: %s\n", argv[5], strerror(errno));
  return code;
}
