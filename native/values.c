/* Reading JavaScript values into C, and the pipes a run gets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "env-block.h"
#include "launcher.h"

/* ---------- helpers ---------- */

void throw_errno(napi_env env, int code, const char *what) {
  napi_value message, error, code_value;
  const char *name = uv_err_name(-code);
  char text[256];
  snprintf(text, sizeof text, "%s: %s (%s)", what, strerror(code), name);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_value);
  napi_set_named_property(env, error, "code", code_value);
  napi_throw(env, error);
}

void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* A pipe made while the server's own fd 0, 1 or 2 is closed could take that number, and the
 * child's dup2 onto 0, 1 and 2 would then overwrite it: such ends are moved above 2. */
int above_stdio(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int failure = errno;
  close(fd);
  errno = failure;
  return moved;
}

int make_pipe(int ends[2]) {
  if (pipe2(ends, O_CLOEXEC) < 0) return -1;
  ends[0] = above_stdio(ends[0]);
  ends[1] = above_stdio(ends[1]);
  if (ends[0] >= 0 && ends[1] >= 0) return 0;
  int failure = errno;
  close_fd(&ends[0]);
  close_fd(&ends[1]);
  errno = failure;
  return -1;
}

char *get_string(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text) napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

/* A user or group id: -1 for none, else 0 to 2^32 - 2 (2^32 - 1 is -1 to the kernel). */
int get_id(napi_env env, napi_value value, long long *id) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return -1;
  if (!(number == -1 || (number >= 0 && number <= 4294967294.0)) || number != (double)(long long)number) return -1;
  *id = (long long)number;
  return 0;
}

/* A NULL-terminated copy of a JavaScript array of strings. */
char **get_string_array(napi_env env, napi_value value, uint32_t *count) {
  uint32_t length;
  if (napi_get_array_length(env, value, &length) != napi_ok) return NULL;
  char **array = calloc(length + 1, sizeof(char *));
  if (!array) return NULL;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    napi_get_element(env, value, i, &item);
    array[i] = get_string(env, item);
    if (!array[i]) {
      for (uint32_t j = 0; j < i; j++) free(array[j]);
      free(array);
      return NULL;
    }
  }
  if (count) *count = length;
  return array;
}

void free_string_array(char **array) {
  if (!array) return;
  for (char **item = array; *item; item++) free(*item);
  free(array);
}

/* The environment comes as one string of NUL-terminated "NAME=value" entries: one copy out of
 * JavaScript instead of two calls per variable. */
int get_environment(napi_env env, napi_value value, child_args_t *child) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return -1;
  child->env_block = malloc(length + 1);
  if (!child->env_block) return -1;
  napi_get_value_string_utf8(env, value, child->env_block, length + 1, &length);
  child->envp = split_environment(child->env_block, length);
  return child->envp ? 0 : -1;
}

void free_child_args(child_args_t *child) {
  free((void *)child->file);
  free((void *)child->cwd);
  free_string_array(child->argv);
  /* sh_argv borrows "/bin/sh" and the file name; the rest are its own copies. */
  if (child->sh_argv) {
    for (char **item = child->sh_argv + 2; *item; item++) free(*item);
    free(child->sh_argv);
  }
  free(child->envp);
  free(child->env_block);
  memset(child, 0, sizeof *child);
}
