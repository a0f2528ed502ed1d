/* What the epoll set reports, read and handed to JavaScript: one callback scope per wake-up. */
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

#define READS_PER_WAKEUP 4
#define EVENTS_PER_WAKEUP 64

/* ---------- calling JavaScript ---------- */

typedef struct {
  napi_callback_scope scope;
  napi_handle_scope handles;
  napi_value dispatcher, receiver;
} dispatch_t;

static void open_dispatch(instance_t *instance, dispatch_t *dispatch) {
  napi_value resource;
  napi_open_handle_scope(instance->env, &dispatch->handles);
  napi_get_reference_value(instance->env, instance->resource, &resource);
  napi_open_callback_scope(instance->env, resource, instance->context, &dispatch->scope);
  napi_get_reference_value(instance->env, instance->dispatcher, &dispatch->dispatcher);
  napi_get_undefined(instance->env, &dispatch->receiver);
}

/* Closing the callback scope runs the promise jobs and next-tick callbacks the events queued. */
static void close_dispatch(instance_t *instance, dispatch_t *dispatch) {
  napi_close_callback_scope(instance->env, dispatch->scope);
  napi_close_handle_scope(instance->env, dispatch->handles);
}

static void emit(instance_t *instance, dispatch_t *dispatch, double id, int kind, const void *bytes, size_t size, int value) {
  napi_env env = instance->env;
  napi_value argv[3];
  napi_create_double(env, id, &argv[0]);
  napi_create_int32(env, kind, &argv[1]);
  if (bytes) napi_create_buffer_copy(env, size, bytes, NULL, &argv[2]);
  else napi_create_int32(env, value, &argv[2]);
  if (napi_call_function(env, dispatch->receiver, dispatch->dispatcher, 3, argv, NULL) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

/* ---------- reading what the set reports ---------- */

/* `hung_up`: every write end is closed, so what the pipe holds is all there will be, and a
 * read that comes back short has reached the end without another read to say so. */
static void read_pipe(instance_t *instance, dispatch_t *dispatch, run_t *run, int which, int readable, int hung_up) {
  double id = run->id;
  int data_event = which == PIPE_OUT ? EV_STDOUT : EV_STDERR;
  for (int i = 0; i < READS_PER_WAKEUP; i++) {
    ssize_t size = readable ? read(run->fds[which], instance->buffer, CHUNK) : 0;
    if (size > 0) {
      int drained = hung_up && size < CHUNK;
      emit(instance, dispatch, id, data_event, instance->buffer, (size_t)size, 0);
      /* The dispatcher may have paused, released or finished this run. */
      run = find_run(instance, id);
      if (!run || run->fds[which] < 0) return;
      if (drained) {
        readable = 0;
        continue;
      }
      if (which == PIPE_OUT && run->paused) return;
      continue;
    }
    if (size < 0 && errno == EINTR) continue;
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    int failure = size < 0 ? errno : 0;
    stop_fd(run, which);
    maybe_free_run(run);
    emit(instance, dispatch, id, data_event + 1, NULL, 0, failure);
    return;
  }
}

/* The exit is read, not reaped (WNOWAIT): the zombie stays until the run is freed. */
static void reap(instance_t *instance, dispatch_t *dispatch, run_t *run) {
  if (run->exited) return;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (syscall(SYS_waitid, P_PIDFD, run->fds[PIPE_EXIT], &info, WEXITED | WNOHANG | WNOWAIT, NULL) < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
  } else if (info.si_pid == 0) {
    return;
  }
  int status = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  double id = run->id;
  run->exited = 1;
  /* Out of the set, or the zombie would be reported at every turn; the pidfd stays open. */
  epoll_ctl(instance->epoll_fd, EPOLL_CTL_DEL, run->fds[PIPE_EXIT], NULL);
  maybe_free_run(run);
  emit(instance, dispatch, id, EV_EXIT, NULL, 0, status);
}

static void report_failures(instance_t *instance, dispatch_t *dispatch) {
  uint64_t count;
  if (read(instance->failure_fd, &count, sizeof count) < 0) {
    /* Nothing to read: another wake-up took the list already. */
  }
  run_t *run = take_failed(instance);
  while (run) {
    run_t *next = run->next;
    double id = run->id;
    int failure = run->start_error;
    free_run(run);
    emit(instance, dispatch, id, EV_FAILED, NULL, 0, failure);
    run = next;
  }
}

void on_ready(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  instance_t *instance = poll->data;
  struct epoll_event ready[EVENTS_PER_WAKEUP];
  int count = epoll_wait(instance->epoll_fd, ready, EVENTS_PER_WAKEUP, 0);
  if (count <= 0) return;
  dispatch_t dispatch;
  open_dispatch(instance, &dispatch);
  for (int i = 0; i < count; i++) {
    uint64_t data = ready[i].data.u64;
    if (data == FAILURE_KEY) {
      report_failures(instance, &dispatch);
      continue;
    }
    int which = (int)(data & 3);
    run_t *run = find_run(instance, (double)(data >> 2));
    if (!run) continue;
    if (state_of(run) != RUN_STARTED) {
      /* Its starter put it in the set a moment ago and is about to hand it over. */
      pthread_mutex_lock(&instance->lock);
      pthread_mutex_unlock(&instance->lock);
      if (state_of(run) != RUN_STARTED) continue;
    }
    if (run->fds[which] < 0) continue;
    if (which == PIPE_EXIT) reap(instance, &dispatch, run);
    else read_pipe(instance, &dispatch, run, which, (ready[i].events & EPOLLIN) != 0, (ready[i].events & EPOLLHUP) != 0);
  }
  close_dispatch(instance, &dispatch);
}
