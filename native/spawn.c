/*
 * tsgi's native launcher: starts a CGI script with clone(CLONE_VM | CLONE_VFORK) and watches
 * its stdout, stderr and exit on the server's own event loop.
 *
 * Why: libuv (and so Node's child_process) starts children with fork(), which copies the
 * page tables of the whole server; a clone that shares them costs the same however large the
 * server is. Reading the pipes and the pidfd here, in C, also spares the JavaScript side a
 * stream object per pipe: it gets one callback per event.
 *
 * The clone itself runs on a thread of libuv's pool: it returns only once the child has
 * called execve, which on a loaded machine takes a few hundred microseconds.
 *
 * JavaScript API (see src/apps/cgi/native-launcher.ts):
 *   spawn(file, argv, env, cwd, stdin, uid, gid, onEvent) -> { stdin, handle }
 *     stdin: a descriptor to become fd 0, -1 for /dev/null, -2 for a new pipe (its write end
 *     comes back as .stdin). uid/gid: -1 keeps the server's. Throws only for bad arguments
 *     or when no pipe can be made; a program that cannot be started is an event.
 *   onEvent(kind, value, extra): 5 started (value: pid) or 6 failed (value: errno) comes
 *     first; then, in any order, 0 stdout bytes, 1 stdout ended, 2 stderr bytes, 3 stderr
 *     ended, 4 exited (value: exit code or -1, extra: signal number or 0). An "ended" event
 *     carries 0, or the errno of a failed read.
 *   pause(handle) / resume(handle): stop and restart reading stdout (flow control).
 *   release(handle, which): stop reading stdout (1), stderr (2) or both (3) and close them;
 *     no end event follows, and the exit is still reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <node_api.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define CHUNK (64 * 1024)
#define READS_PER_WAKEUP 4
#define CHILD_STACK (32 * 1024)

enum { EV_STDOUT, EV_STDOUT_END, EV_STDERR, EV_STDERR_END, EV_EXIT, EV_STARTED, EV_FAILED };

typedef struct run run_t;

/* What the child needs, prepared by the parent: the child shares the parent's memory and
 * must not allocate, lock or touch anything else before it calls execve. */
typedef struct {
  const char *file;
  char **argv;
  char **sh_argv; /* "/bin/sh", file, args...: a file without #! is a shell script, as execvp does */
  char **envp;
  const char *cwd;
  int stdin_fd;   /* -1: /dev/null */
  int stdout_fd, stderr_fd;
  int uid, gid;
  volatile int error; /* set by the child when it fails before execve */
} child_args_t;

typedef struct {
  uv_poll_t poll;
  run_t *run;
  int fd;
  int open;     /* the fd is still open */
  int polling;  /* uv_poll_start is in effect */
  int handle;   /* the uv handle is initialised and not yet closed */
  int data_event, end_event;
} watch_t;

struct run {
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int has_context;
  napi_async_work work; /* the start, until it has completed */
  child_args_t child;   /* until the start has completed */
  int start_error;      /* errno of a failed start */
  int child_stdin, child_stdout, child_stderr; /* the child's ends, closed once it started */
  int stdout_fd, stderr_fd, pidfd;             /* ours, until the watches own them */
  watch_t out, err, exit;
  int pid;
  int handles;   /* uv handles not yet closed */
  int finished;  /* every handle closed: nothing more will be reported */
  int wrapped;   /* the JavaScript object still holds this run */
  int paused;
  int released;  /* JavaScript let go of stdout (1), stderr (2) */
  unsigned char *buffer; /* this thread's read buffer (the module's instance data) */
};


static int child_main(void *opaque) {
  child_args_t *args = opaque;
  int fd;
  /* Raw system calls: glibc's set*id wrappers signal every thread of the (shared) process. */
  if (syscall(SYS_setsid) < 0) goto fail;
  if (args->gid >= 0) {
    if (syscall(SYS_setgroups, 0, NULL) < 0) goto fail;
    if (syscall(SYS_setresgid, args->gid, args->gid, args->gid) < 0) goto fail;
  }
  if (args->uid >= 0 && syscall(SYS_setresuid, args->uid, args->uid, args->uid) < 0) goto fail;
  if (args->cwd[0] && chdir(args->cwd) < 0) goto fail;
  if (args->stdin_fd == 0) {
    if (fcntl(0, F_SETFD, 0) < 0) goto fail; /* dup2 onto itself would leave close-on-exec set */
  } else if (args->stdin_fd > 0) {
    if (dup2(args->stdin_fd, 0) < 0) goto fail;
  } else {
    fd = open("/dev/null", O_RDONLY);
    if (fd < 0) goto fail;
    if (fd != 0 && (dup2(fd, 0) < 0 || close(fd) < 0)) goto fail;
  }
  if (dup2(args->stdout_fd, 1) < 0 || dup2(args->stderr_fd, 2) < 0) goto fail;
  /* A fresh program starts with every signal at its default (Node ignores SIGPIPE, for one),
   * and only then unblocked: until here a signal would have run the server's handler. */
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigaction(sig, &action, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(args->file, args->argv, args->envp);
  if (errno == ENOEXEC) execve("/bin/sh", args->sh_argv, args->envp);
fail:
  args->error = errno ? errno : EINVAL;
  _exit(127);
}

static void throw_errno(napi_env env, int code, const char *what) {
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

static void emit(run_t *run, int kind, const void *bytes, size_t size, int value, int extra) {
  napi_env env = run->env;
  napi_handle_scope scope;
  napi_value callback, receiver, argv[3], result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, run->callback, &callback);
  napi_get_global(env, &receiver); /* napi_make_callback wants an object */
  napi_create_int32(env, kind, &argv[0]);
  if (bytes) napi_create_buffer_copy(env, size, bytes, NULL, &argv[1]);
  else napi_create_int32(env, value, &argv[1]);
  napi_create_int32(env, extra, &argv[2]);
  if (napi_make_callback(env, run->context, receiver, callback, 3, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static void maybe_free(run_t *run) {
  if (run->finished && !run->wrapped) free(run);
}

static void finish(run_t *run) {
  run->finished = 1;
  napi_delete_reference(run->env, run->callback);
  if (run->has_context) napi_async_destroy(run->env, run->context);
  maybe_free(run);
}

static void on_closed(uv_handle_t *handle) {
  watch_t *watch = handle->data;
  run_t *run = watch->run;
  if (--run->handles == 0) finish(run);
}

static void stop_watch(watch_t *watch) {
  if (watch->handle) {
    watch->handle = 0;
    watch->polling = 0;
    uv_close((uv_handle_t *)&watch->poll, on_closed);
  }
  if (watch->open) {
    watch->open = 0;
    close(watch->fd);
  }
}

static void read_pipe(watch_t *watch) {
  run_t *run = watch->run;
  for (int i = 0; i < READS_PER_WAKEUP && watch->open; i++) {
    ssize_t size = read(watch->fd, run->buffer, CHUNK);
    if (size > 0) {
      emit(run, watch->data_event, run->buffer, (size_t)size, 0, 0);
      /* The callback may have paused or released this pipe. */
      if (watch == &run->out && run->paused) return;
      continue;
    }
    if (size < 0 && errno == EINTR) continue;
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    int failure = size < 0 ? errno : 0;
    stop_watch(watch);
    emit(run, watch->end_event, NULL, 0, failure, 0);
    return;
  }
}

static void on_pipe(uv_poll_t *poll, int status, int events) {
  (void)events;
  watch_t *watch = poll->data;
  if (status < 0) {
    /* A poll failure is reported like a failed read. */
    stop_watch(watch);
    emit(watch->run, watch->end_event, NULL, 0, -status, 0);
    return;
  }
  read_pipe(watch);
}

static void on_exit_ready(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  watch_t *watch = poll->data;
  run_t *run = watch->run;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (syscall(SYS_waitid, P_PIDFD, watch->fd, &info, WEXITED | WNOHANG, NULL) < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
  } else if (info.si_pid == 0) {
    return;
  }
  int code = -1, signal_number = 0;
  if (info.si_code == CLD_EXITED) code = info.si_status;
  else signal_number = info.si_status;
  stop_watch(watch);
  emit(run, EV_EXIT, NULL, 0, code, signal_number);
}

static int start_watch(run_t *run, watch_t *watch, int fd, uv_poll_cb callback, int data_event, int end_event) {
  uv_loop_t *loop;
  watch->run = run;
  watch->fd = fd;
  watch->open = 1;
  watch->data_event = data_event;
  watch->end_event = end_event;
  napi_get_uv_event_loop(run->env, &loop);
  int status = uv_poll_init(loop, &watch->poll, fd);
  if (status < 0) return status;
  watch->poll.data = watch;
  watch->handle = 1;
  run->handles++;
  status = uv_poll_start(&watch->poll, UV_READABLE, callback);
  if (status < 0) return status;
  watch->polling = 1;
  return 0;
}

static void finalize_run(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  run_t *run = data;
  run->wrapped = 0;
  maybe_free(run);
}

/* ---------- argument helpers ---------- */

static char *get_string(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text) napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

/* A NULL-terminated array of strings, with `skip` empty slots in front. */
static char **get_string_array(napi_env env, napi_value value, uint32_t skip) {
  uint32_t length;
  if (napi_get_array_length(env, value, &length) != napi_ok) return NULL;
  char **array = calloc(length + skip + 1, sizeof(char *));
  if (!array) return NULL;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    napi_get_element(env, value, i, &item);
    array[skip + i] = get_string(env, item);
    if (!array[skip + i]) {
      for (uint32_t j = skip; j < skip + i; j++) free(array[j]);
      free(array);
      return NULL;
    }
  }
  return array;
}

static void free_string_array(char **array, uint32_t skip) {
  if (!array) return;
  for (char **item = array + skip; *item; item++) free(*item);
  free(array);
}

static int32_t get_int(napi_env env, napi_value value) {
  int32_t number = -1;
  napi_get_value_int32(env, value, &number);
  return number;
}

/* A pipe made while the server's own fd 0, 1 or 2 is closed could take that number, and the
 * child's dup2 onto 0, 1 and 2 would then overwrite it: such ends are moved above 2. */
static int above_stdio(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int failure = errno;
  close(fd);
  errno = failure;
  return moved;
}

static int make_pipe(int ends[2]) {
  if (pipe2(ends, O_CLOEXEC) < 0) return -1;
  ends[0] = above_stdio(ends[0]);
  ends[1] = above_stdio(ends[1]);
  if (ends[0] >= 0 && ends[1] >= 0) return 0;
  int failure = errno;
  if (ends[0] >= 0) close(ends[0]);
  if (ends[1] >= 0) close(ends[1]);
  errno = failure;
  return -1;
}

static int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* ---------- spawn ---------- */

/* Runs on a thread of libuv's pool, so that the event loop never waits for an execve. */
static void clone_child(napi_env env, void *data) {
  (void)env;
  run_t *run = data;
  child_args_t *child = &run->child;
  /* Every signal stays blocked while the child shares this thread's memory and handlers. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  char stack[CHILD_STACK] __attribute__((aligned(16)));
  int pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, child);
  run->start_error = pid < 0 ? errno : 0;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (pid < 0) return;
  if (child->error) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    run->start_error = child->error;
    return;
  }
  run->pid = pid;
  run->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (run->pidfd < 0) {
    run->start_error = errno;
    kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    run->pid = 0;
  }
}

static void free_child_args(child_args_t *child) {
  free((void *)child->file);
  free((void *)child->cwd);
  free_string_array(child->argv, 0);
  if (child->sh_argv) {
    for (char **item = child->sh_argv + 2; *item; item++) free(*item);
    free(child->sh_argv);
  }
  free_string_array(child->envp, 0);
  memset(child, 0, sizeof *child);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void on_started(napi_env env, napi_status status, void *data) {
  run_t *run = data;
  napi_delete_async_work(env, run->work);
  run->work = NULL;
  close_fd(&run->child_stdout);
  close_fd(&run->child_stderr);
  close_fd(&run->child_stdin);
  free_child_args(&run->child);
  int failure = status == napi_cancelled ? ECANCELED : run->start_error;
  if (failure == 0) {
    int poll_status = start_watch(run, &run->exit, run->pidfd, on_exit_ready, EV_EXIT, EV_EXIT);
    run->pidfd = -1;
    if (poll_status == 0 && !(run->released & 1)) {
      poll_status = start_watch(run, &run->out, run->stdout_fd, on_pipe, EV_STDOUT, EV_STDOUT_END);
      run->stdout_fd = -1;
    }
    if (poll_status == 0 && !(run->released & 2)) {
      poll_status = start_watch(run, &run->err, run->stderr_fd, on_pipe, EV_STDERR, EV_STDERR_END);
      run->stderr_fd = -1;
    }
    if (poll_status == 0 && run->paused && run->out.polling) {
      uv_poll_stop(&run->out.poll);
      run->out.polling = 0;
    }
    if (poll_status < 0) {
      /* Cannot watch it: the script is killed and reaped, and JavaScript told why. */
      kill(-run->pid, SIGKILL);
      int wait_status;
      while (waitpid(run->pid, &wait_status, 0) < 0 && errno == EINTR) {}
      failure = -poll_status;
      stop_watch(&run->exit);
      stop_watch(&run->out);
      stop_watch(&run->err);
    }
  }
  close_fd(&run->stdout_fd);
  close_fd(&run->stderr_fd);
  close_fd(&run->pidfd);
  if (failure) {
    emit(run, EV_FAILED, NULL, 0, failure, 0);
    if (run->handles == 0) finish(run);
    return;
  }
  emit(run, EV_STARTED, NULL, 0, run->pid, 0);
}

static napi_value spawn_script(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8], result = NULL;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, env, cwd, stdin, uid, gid, onEvent)");
    return NULL;
  }
  run_t *run = calloc(1, sizeof *run);
  if (!run) {
    napi_throw_error(env, NULL, "spawn: out of memory");
    return NULL;
  }
  run->env = env;
  run->stdout_fd = run->stderr_fd = run->pidfd = run->child_stdin = run->child_stdout = run->child_stderr = -1;
  int stdin_write = -1;
  child_args_t *child = &run->child;
  child->file = get_string(env, args[0]);
  child->argv = get_string_array(env, args[1], 0);
  child->envp = get_string_array(env, args[2], 0);
  child->cwd = get_string(env, args[3]);
  int stdin_mode = get_int(env, args[4]);
  child->uid = get_int(env, args[5]);
  child->gid = get_int(env, args[6]);
  if (!child->file || !child->argv || !child->envp || !child->cwd || !child->argv[0]) {
    napi_throw_type_error(env, NULL, "spawn: file and cwd must be strings, argv (not empty) and env arrays of strings");
    goto fail;
  }
  /* For a file without #!: /bin/sh gets the script as its first argument, then the rest of argv. */
  uint32_t count = 0;
  while (child->argv[count]) count++;
  child->sh_argv = calloc(count + 2, sizeof(char *));
  if (!child->sh_argv) goto out_of_memory;
  child->sh_argv[0] = "/bin/sh";
  child->sh_argv[1] = (char *)child->file;
  for (uint32_t i = 1; i < count; i++) {
    child->sh_argv[i + 1] = strdup(child->argv[i]);
    if (!child->sh_argv[i + 1]) goto out_of_memory;
  }
  int out_pipe[2], err_pipe[2];
  if (make_pipe(out_pipe) < 0) goto system_error;
  run->stdout_fd = out_pipe[0];
  run->child_stdout = out_pipe[1];
  if (make_pipe(err_pipe) < 0) goto system_error;
  run->stderr_fd = err_pipe[0];
  run->child_stderr = err_pipe[1];
  if (stdin_mode == -2) {
    int in_pipe[2];
    if (make_pipe(in_pipe) < 0) goto system_error;
    run->child_stdin = in_pipe[0];
    stdin_write = in_pipe[1];
    child->stdin_fd = in_pipe[0];
  } else {
    child->stdin_fd = stdin_mode;
  }
  child->stdout_fd = run->child_stdout;
  child->stderr_fd = run->child_stderr;
  set_nonblocking(run->stdout_fd);
  set_nonblocking(run->stderr_fd);

  napi_value resource_name, resource;
  napi_create_string_utf8(env, "tsgi.cgi.script", NAPI_AUTO_LENGTH, &resource_name);
  napi_create_object(env, &resource);
  napi_get_instance_data(env, (void **)&run->buffer);
  if (napi_create_async_work(env, resource, resource_name, clone_child, on_started, run, &run->work) != napi_ok ||
      napi_queue_async_work(env, run->work) != napi_ok) {
    napi_throw_error(env, NULL, "spawn: cannot queue the start");
    goto fail;
  }
  napi_create_reference(env, args[7], 1, &run->callback);
  napi_async_init(env, resource, resource_name, &run->context);
  run->has_context = 1;
  run->wrapped = 1;

  napi_value stdin_value, handle;
  napi_create_object(env, &result);
  napi_create_object(env, &handle);
  napi_wrap(env, handle, run, finalize_run, NULL, NULL);
  napi_create_int32(env, stdin_write, &stdin_value);
  napi_set_named_property(env, result, "stdin", stdin_value);
  napi_set_named_property(env, result, "handle", handle);
  return result;

out_of_memory:
  napi_throw_error(env, NULL, "spawn: out of memory");
  goto fail;
system_error:
  throw_errno(env, errno, "spawn: pipe");
fail:
  if (run->work) napi_delete_async_work(env, run->work);
  close_fd(&stdin_write);
  close_fd(&run->stdout_fd);
  close_fd(&run->stderr_fd);
  close_fd(&run->child_stdout);
  close_fd(&run->child_stderr);
  close_fd(&run->child_stdin);
  free_child_args(child);
  free(run);
  return NULL;
}

static run_t *unwrap_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value handle;
  void *data = NULL;
  napi_get_cb_info(env, info, &argc, &handle, NULL, NULL);
  if (argc < 1 || napi_unwrap(env, handle, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a handle returned by spawn()");
    return NULL;
  }
  run_t *run = data;
  return run->finished ? NULL : run;
}

static napi_value pause_stdout(napi_env env, napi_callback_info info) {
  run_t *run = unwrap_handle(env, info);
  if (run && !run->paused) {
    run->paused = 1;
    if (run->out.polling) {
      uv_poll_stop(&run->out.poll);
      run->out.polling = 0;
    }
  }
  return NULL;
}

static napi_value resume_stdout(napi_env env, napi_callback_info info) {
  run_t *run = unwrap_handle(env, info);
  if (run && run->paused) {
    run->paused = 0;
    if (run->out.handle && run->out.open && !run->out.polling && uv_poll_start(&run->out.poll, UV_READABLE, on_pipe) == 0) run->out.polling = 1;
  }
  return NULL;
}

static napi_value release_pipes(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  void *data = NULL;
  int32_t which = 0;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 2 || napi_unwrap(env, args[0], &data) != napi_ok || napi_get_value_int32(env, args[1], &which) != napi_ok) {
    napi_throw_type_error(env, NULL, "release(handle, which): which is 1 (stdout), 2 (stderr) or 3 (both)");
    return NULL;
  }
  run_t *run = data;
  if (run->finished) return NULL;
  if (which & 1) {
    run->released |= 1;
    stop_watch(&run->out);
  }
  if (which & 2) {
    run->released |= 2;
    stop_watch(&run->err);
  }
  return NULL;
}

static void free_buffer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value init(napi_env env, napi_value exports) {
  /* One read buffer per thread that loads the module: pipes are read one at a time, and the
   * bytes are copied into a Buffer of their own size before JavaScript sees them. */
  void *buffer = malloc(CHUNK);
  if (!buffer || napi_set_instance_data(env, buffer, free_buffer, NULL) != napi_ok) {
    free(buffer);
    napi_throw_error(env, NULL, "tsgi_spawn: out of memory");
    return NULL;
  }
  napi_property_descriptor functions[] = {
    {"spawn", NULL, spawn_script, NULL, NULL, NULL, napi_default, NULL},
    {"pause", NULL, pause_stdout, NULL, NULL, NULL, napi_default, NULL},
    {"resume", NULL, resume_stdout, NULL, NULL, NULL, napi_default, NULL},
    {"release", NULL, release_pipes, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
