/*
 * Listening sockets for FastCGI children (FCGI_LISTENSOCK_FILENO): made here because a socket
 * Node listens on is one Node accepts on too, and the child must be the only one to accept.
 *
 *   listenUnix(path, backlog, mode) -> fd: a unix stream socket bound to path (which must not
 *     exist), chmod'ed to mode, listening; close-on-exec, so only a child that gets it as its
 *     fd 0 keeps it. Throws with the errno's code.
 *   closeFd(fd): closes a descriptor listenUnix or dupFd gave.
 *   dupFd(fd) -> fd: a close-on-exec copy of fd above stdio. A --workers supervisor keeps one
 *     of the socket a Node server listened on, then closes the server: the socket stays
 *     listening, and no longer has an acceptor in this process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher.h"

napi_value listen_unix(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t length = 0;
  int32_t backlog = 0, mode = 0;
  if (argc < 3 || napi_get_value_string_utf8(env, args[0], path, sizeof path, &length) != napi_ok ||
      napi_get_value_int32(env, args[1], &backlog) != napi_ok || napi_get_value_int32(env, args[2], &mode) != napi_ok) {
    napi_throw_type_error(env, NULL, "listenUnix(path, backlog, mode)");
    return NULL;
  }
  if (length + 1 >= sizeof path) {
    throw_errno(env, ENAMETOOLONG, "listenUnix: socket path");
    return NULL;
  }
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path, length + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "listenUnix: socket");
    return NULL;
  }
  fd = above_stdio(fd);
  if (fd < 0) {
    throw_errno(env, errno, "listenUnix: socket");
    return NULL;
  }
  const char *step = "bind";
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) goto fail;
  step = "chmod";
  if (chmod(path, (mode_t)mode) < 0) goto fail;
  step = "listen";
  if (listen(fd, backlog) < 0) goto fail;
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
fail:;
  int error = errno;
  close(fd);
  if (strcmp(step, "bind") != 0) unlink(path);
  char what[64] = "listenUnix: ";
  strcat(what, step);
  throw_errno(env, error, what);
  return NULL;
}

napi_value close_descriptor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, args[0], &fd) != napi_ok || fd < 3) {
    napi_throw_type_error(env, NULL, "closeFd(fd): a descriptor above 2");
    return NULL;
  }
  close(fd);
  return NULL;
}

napi_value duplicate_descriptor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, args[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "dupFd(fd): an open descriptor");
    return NULL;
  }
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    throw_errno(env, errno, "dupFd");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}
