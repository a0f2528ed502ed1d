/*
 * tsgi's native CGI launcher, the addon behind src/apps/cgi/native-launcher.ts.
 *
 * A run is started by a starter thread (starter.c, child.c), which puts its stdout, stderr and
 * pidfd into one epoll set of the launcher's own; libuv watches the set as a single descriptor.
 * A run costs no libuv handle, and everything the set reports in one wake-up reaches
 * JavaScript in one callback scope, so promise jobs run once per wake-up, not once per event.
 *
 * JavaScript API:
 *   setDispatcher(fn): fn(id, kind, value) receives every event, in order per run:
 *     kind 0 stdout bytes (value: Buffer), 1 stdout ended (value: 0 or the errno of a failed
 *     read), 2 stderr bytes, 3 stderr ended, 4 exited (value: exit status, or -signal),
 *     5 could not start (value: errno; nothing follows). Once a run has reported its exit
 *     and both pipes have ended or been released, its id is dead and nothing more comes.
 *   spawn(file, argv, env, cwd, stdin, uid, gid) -> [id, stdinFd]
 *     env: "NAME=value" entries, each ended by NUL, in one string.
 *     stdin: a descriptor to become fd 0, -1 for /dev/null, -2 for a new pipe (its write
 *     end is stdinFd, JavaScript's to close; otherwise -1). uid/gid: -1 keeps the server's,
 *     anything else must be a uid_t (0 to 2^32 - 2) or spawn throws a RangeError (EINVAL).
 *     Throws for bad arguments or when no pipe can be made.
 *   pause(id), resume(id): stop and restart reading stdout (flow control).
 *   release(id, which): stop reading stdout (1), stderr (2) or both (3) and close them; no
 *     end event follows for a released pipe.
 *   kill(id): SIGKILL to everything the run started, at once or as soon as it has started, and
 *     also after its exit while its pipes are open: its cgroup (cgroup.c), or without one its
 *     process group, tree and session (descendants.c; its zombie is kept till then, so its
 *     pid names no other process). What is left when a run is over is killed then too.
 *   containment() -> [kind, detail]: how runs are contained, decided once per process:
 *     ["cgroup", folder the run cgroups are in] or ["subreaper", why there are no cgroups].
 * Calls with a dead id do nothing.
 *   listenUnix(path, backlog, mode) -> fd, closeFd(fd), dupFd(fd) -> fd: see listen.c.
 */
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

#include "launcher.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* ---------- starting ---------- */

static instance_t *get_instance(napi_env env) {
  instance_t *instance = NULL;
  napi_get_instance_data(env, (void **)&instance);
  return instance;
}

static napi_value spawn_script(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7], result = NULL;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  instance_t *instance = get_instance(env);
  if (!instance->dispatcher) {
    napi_throw_error(env, NULL, "spawn: setDispatcher() first");
    return NULL;
  }
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, env, cwd, stdin, uid, gid)");
    return NULL;
  }
  run_t *run = calloc(1, sizeof *run);
  if (!run) {
    napi_throw_error(env, NULL, "spawn: out of memory");
    return NULL;
  }
  run->instance = instance;
  run->child_ends[0] = run->child_ends[1] = run->child_ends[2] = -1;
  run->fds[0] = run->fds[1] = run->fds[2] = -1;
  int stdin_write = -1;
  child_args_t *child = &run->child;
  uint32_t argv_count = 0;
  child->file = get_string(env, args[0]);
  child->argv = get_string_array(env, args[1], &argv_count);
  int environment_status = get_environment(env, args[2], child);
  child->cwd = get_string(env, args[3]);
  int stdin_mode = -1;
  napi_get_value_int32(env, args[4], &stdin_mode);
  if (get_id(env, args[5], &child->uid) < 0 || get_id(env, args[6], &child->gid) < 0) {
    /* Read as an int32 or cast to uid_t, such an id would silently leave the script running
     * as the server's user. */
    napi_throw_range_error(env, "EINVAL", "spawn: uid and gid must be -1 (unchanged) or from 0 to 4294967294");
    goto fail;
  }
  if (!child->file || !child->argv || environment_status < 0 || !child->cwd || argv_count == 0) {
    napi_throw_type_error(env, NULL, "spawn: file, env and cwd must be strings, argv an array of strings (not empty)");
    goto fail;
  }
  /* For a file without #!: /bin/sh gets the script as its first argument, then the rest of argv. */
  child->sh_argv = calloc(argv_count + 2, sizeof(char *));
  if (!child->sh_argv) goto out_of_memory;
  child->sh_argv[0] = "/bin/sh";
  child->sh_argv[1] = (char *)child->file;
  for (uint32_t i = 1; i < argv_count; i++) {
    child->sh_argv[i + 1] = strdup(child->argv[i]);
    if (!child->sh_argv[i + 1]) goto out_of_memory;
  }
  int ends[2];
  if (make_pipe(ends) < 0) goto system_error;
  run->fds[PIPE_OUT] = ends[0];
  run->child_ends[1] = child->stdout_fd = ends[1];
  if (make_pipe(ends) < 0) goto system_error;
  run->fds[PIPE_ERR] = ends[0];
  run->child_ends[2] = child->stderr_fd = ends[1];
  if (stdin_mode == -2) {
    if (make_pipe(ends) < 0) goto system_error;
    run->child_ends[0] = child->stdin_fd = ends[0];
    stdin_write = ends[1];
  } else if (stdin_mode >= 0) {
    /* The start comes later, on a starter thread: by then the caller may have closed its
     * descriptor and the number may name another file. The run keeps a copy of its own. */
    int copy = fcntl(stdin_mode, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) goto system_error;
    run->child_ends[0] = child->stdin_fd = copy;
  } else {
    child->stdin_fd = instance->dev_null;
  }
  fcntl(run->fds[PIPE_OUT], F_SETFL, O_NONBLOCK);
  fcntl(run->fds[PIPE_ERR], F_SETFL, O_NONBLOCK);
  if (add_run(instance, run) < 0) goto out_of_memory;
  count_active(instance, 1);
  int status = queue_start(instance, run);
  if (status != 0) {
    instance->slots[run->slot] = NULL;
    instance->free_slots[instance->free_count++] = run->slot;
    count_active(instance, -1);
    throw_errno(env, status, "spawn: starting a starter thread");
    goto fail;
  }
  napi_value values[2];
  napi_create_array_with_length(env, 2, &result);
  napi_create_double(env, run->id, &values[0]);
  napi_create_int32(env, stdin_write, &values[1]);
  napi_set_element(env, result, 0, values[0]);
  napi_set_element(env, result, 1, values[1]);
  return result;

out_of_memory:
  napi_throw_error(env, NULL, "spawn: out of memory");
  goto fail;
system_error:
  throw_errno(env, errno, "spawn: stdin, stdout or stderr");
fail:
  close_fd(&stdin_write);
  for (int i = 0; i < 3; i++) {
    close_fd(&run->fds[i]);
    close_fd(&run->child_ends[i]);
  }
  free_child_args(child);
  free(run);
  return NULL;
}

/* ---------- control ---------- */

static run_t *run_argument(napi_env env, napi_callback_info info, int32_t *second) {
  size_t argc = 2;
  napi_value args[2];
  double id = -1;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 1 || napi_get_value_double(env, args[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a run id returned by spawn()");
    return NULL;
  }
  if (second && (argc < 2 || napi_get_value_int32(env, args[1], second) != napi_ok)) {
    napi_throw_type_error(env, NULL, "release(id, which): which is 1 (stdout), 2 (stderr) or 3 (both)");
    return NULL;
  }
  return find_run(get_instance(env), id);
}

/* A paused stdout leaves the set altogether: registered without events it would still report
 * the hang-up of a script that has exited, at every turn of the loop. */
static void watch_stdout(run_t *run, int on) {
  if (run->fds[PIPE_OUT] < 0) return;
  if (on) add_to_set(run, PIPE_OUT, EPOLLIN);
  else epoll_ctl(run->instance->epoll_fd, EPOLL_CTL_DEL, run->fds[PIPE_OUT], NULL);
}

/* For a run still with its starter: true (and the lock held) when the request must wait for
 * the starter, which honours the flags the caller sets; false when the run is the loop's. */
static int with_starter(run_t *run) {
  if (state_of(run) >= RUN_STARTED) return 0;
  pthread_mutex_lock(&run->instance->lock);
  if (state_of(run) >= RUN_STARTED) {
    pthread_mutex_unlock(&run->instance->lock);
    return 0;
  }
  return 1;
}

/* Pausing and resuming stdout: a run still with its starter only takes note. */
static napi_value set_paused(napi_env env, napi_callback_info info, int paused) {
  run_t *run = run_argument(env, info, NULL);
  if (!run) return NULL;
  if (with_starter(run)) {
    run->paused = paused;
    pthread_mutex_unlock(&run->instance->lock);
  } else if (run->paused != paused && state_of(run) == RUN_STARTED) {
    run->paused = paused;
    watch_stdout(run, !paused);
  }
  return NULL;
}

static napi_value pause_stdout(napi_env env, napi_callback_info info) {
  return set_paused(env, info, 1);
}

static napi_value resume_stdout(napi_env env, napi_callback_info info) {
  return set_paused(env, info, 0);
}

static napi_value release_pipes(napi_env env, napi_callback_info info) {
  int32_t which = 0;
  run_t *run = run_argument(env, info, &which);
  if (!run) return NULL;
  if (with_starter(run)) {
    run->released |= which & 3;
    pthread_mutex_unlock(&run->instance->lock);
    return NULL;
  }
  if (state_of(run) != RUN_STARTED) return NULL;
  if (which & 1) stop_fd(run, PIPE_OUT);
  if (which & 2) stop_fd(run, PIPE_ERR);
  maybe_free_run(run);
  return NULL;
}

static napi_value kill_group(napi_env env, napi_callback_info info) {
  run_t *run = run_argument(env, info, NULL);
  if (!run) return NULL;
  if (with_starter(run)) {
    run->kill_requested = 1;
    int known = run->pid_known;
    pthread_mutex_unlock(&run->instance->lock);
    if (known) kill_run(run);
  } else if (state_of(run) == RUN_STARTED) {
    /* Also after the exit: what the script started may live on. */
    kill_run(run);
  }
  return NULL;
}

static napi_value containment(napi_env env, napi_callback_info info) {
  const char *where = NULL;
  const char *why = cgroup_unavailable(&where);
  napi_value result, kind, detail;
  napi_create_array_with_length(env, 2, &result);
  napi_create_string_utf8(env, why ? "subreaper" : "cgroup", NAPI_AUTO_LENGTH, &kind);
  napi_create_string_utf8(env, why ? why : where, NAPI_AUTO_LENGTH, &detail);
  napi_set_element(env, result, 0, kind);
  napi_set_element(env, result, 1, detail);
  return result;
}

static napi_value set_dispatcher(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value fn;
  napi_valuetype type;
  napi_get_cb_info(env, info, &argc, &fn, NULL, NULL);
  if (argc < 1 || napi_typeof(env, fn, &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "setDispatcher(fn)");
    return NULL;
  }
  instance_t *instance = get_instance(env);
  if (instance->dispatcher) napi_delete_reference(env, instance->dispatcher);
  napi_create_reference(env, fn, 1, &instance->dispatcher);
  return NULL;
}

/* ---------- the module ---------- */

static void on_poll_closed(uv_handle_t *handle) {
  instance_t *instance = handle->data;
  napi_async_cleanup_hook_handle hook = instance->cleanup_hook;
  free(instance->slots);
  free(instance->free_slots);
  free(instance->generations);
  pthread_mutex_destroy(&instance->lock);
  pthread_cond_destroy(&instance->wake);
  free(instance);
  napi_remove_async_cleanup_hook(hook);
}

/* When the environment goes away (the process or a worker thread ends), the starters finish
 * what they are doing and scripts still running are killed with their process groups, as a
 * client that leaves has its script killed: nobody is left to read their output, and nobody
 * would reap them. SIGKILL ends them at once, so the wait for each is short.
 * An asynchronous hook, so that the environment waits for the poll's close callback: a worker
 * unloads this addon once its hooks are done, and a callback left for later would then run
 * code that is no longer mapped. */
static void cleanup(napi_async_cleanup_hook_handle hook, void *data) {
  instance_t *instance = data;
  instance->cleanup_hook = hook;
  stop_starters(instance);
  for (uint32_t slot = 0; slot < instance->used; slot++) {
    run_t *run = instance->slots[slot];
    if (!run) continue;
    if (state_of(run) == RUN_STARTED && !run->exited && run->fds[PIPE_EXIT] >= 0) {
      kill_run(run);
      siginfo_t info;
      while (syscall(SYS_waitid, P_PIDFD, run->fds[PIPE_EXIT], &info, WEXITED, NULL) < 0 && errno == EINTR) {}
    }
    reap_zombie(run);
    if (run->cgroup) cgroup_release(run->cgroup);
    for (int i = 0; i < 3; i++) {
      close_fd(&run->fds[i]);
      close_fd(&run->child_ends[i]);
    }
    free_child_args(&run->child);
    free(run);
  }
  close_fd(&instance->epoll_fd);
  close_fd(&instance->failure_fd);
  close_fd(&instance->dev_null);
  if (instance->dispatcher) napi_delete_reference(instance->env, instance->dispatcher);
  napi_delete_reference(instance->env, instance->resource);
  napi_async_destroy(instance->env, instance->context);
  uv_close((uv_handle_t *)&instance->poll, on_poll_closed);
}

static napi_value init(napi_env env, napi_value exports) {
  instance_t *instance = calloc(1, sizeof *instance);
  uv_loop_t *loop;
  if (!instance) {
    napi_throw_error(env, NULL, "tsgi_launcher: out of memory");
    return NULL;
  }
  instance->env = env;
  instance->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  instance->failure_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = EPOLLIN;
  event.data.u64 = FAILURE_KEY;
  if (instance->epoll_fd < 0 || instance->failure_fd < 0 || epoll_ctl(instance->epoll_fd, EPOLL_CTL_ADD, instance->failure_fd, &event) < 0) {
    throw_errno(env, errno, "tsgi_launcher: epoll");
    close_fd(&instance->epoll_fd);
    close_fd(&instance->failure_fd);
    free(instance);
    return NULL;
  }
  pthread_mutex_init(&instance->lock, NULL);
  prepare_children();
  /* Above 2 like the pipes (the child dup2s it onto 0); without it, the child opens its own. */
  instance->dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (instance->dev_null >= 0) instance->dev_null = above_stdio(instance->dev_null);
  pthread_cond_init(&instance->wake, NULL);
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &instance->poll, instance->epoll_fd);
  instance->poll.data = instance;
  uv_poll_start(&instance->poll, UV_READABLE, on_ready);
  uv_unref((uv_handle_t *)&instance->poll);
  napi_value resource, resource_name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &instance->resource);
  napi_create_string_utf8(env, "tsgi.cgi.scripts", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, resource, resource_name, &instance->context);
  napi_set_instance_data(env, instance, NULL, NULL);
  napi_add_async_cleanup_hook(env, cleanup, instance, NULL);
  napi_property_descriptor functions[] = {
    {"setDispatcher", NULL, set_dispatcher, NULL, NULL, NULL, napi_default, NULL},
    {"spawn", NULL, spawn_script, NULL, NULL, NULL, napi_default, NULL},
    {"pause", NULL, pause_stdout, NULL, NULL, NULL, napi_default, NULL},
    {"resume", NULL, resume_stdout, NULL, NULL, NULL, napi_default, NULL},
    {"release", NULL, release_pipes, NULL, NULL, NULL, napi_default, NULL},
    {"kill", NULL, kill_group, NULL, NULL, NULL, napi_default, NULL},
    {"containment", NULL, containment, NULL, NULL, NULL, napi_default, NULL},
    {"listenUnix", NULL, listen_unix, NULL, NULL, NULL, napi_default, NULL},
    {"closeFd", NULL, close_descriptor, NULL, NULL, NULL, napi_default, NULL},
    {"dupFd", NULL, duplicate_descriptor, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
