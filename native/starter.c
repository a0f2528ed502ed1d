/*
 * The starter threads: each takes a run from the queue, starts it (child.c, which waits for
 * the child's execve) and puts its stdout, stderr and pidfd straight into the launcher's epoll
 * set, so the event loop hears nothing of a start until the script's output. Only a failed
 * start is reported, through an eventfd in the same set.
 *
 * Before handing a run over, the thread waits up to HOLD_MS for the script to exit. Most CGI
 * scripts are done by then: the event loop then wakes once for the whole of it (output, end
 * of output, exit) instead of once for the output and again for its end, which comes only
 * after the kernel has torn the script's memory down. A script that runs longer, or fills its
 * pipe, is handed over when the time is up.
 *
 * Under load a thread finishing one start finds the next one waiting and takes it without
 * sleeping. The event loop wakes an idle thread per queued run, and starts another thread
 * (up to MAX_STARTERS) when every idle one is spoken for: a burst is started side by side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "launcher.h"

#define HOLD_MS 5
/* How often an idle starter looks at the cgroups of killed runs while some wait. */
#define SWEEP_MS 50

uint64_t event_key(run_t *run, int which) {
  return ((uint64_t)run->id << 2) | (uint64_t)which;
}

/* Puts one of a run's descriptors in the set. A paused stdout stays out of it until it is
 * resumed (launcher.c, watch_stdout). */
int add_to_set(run_t *run, int which, uint32_t events) {
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = events;
  event.data.u64 = event_key(run, which);
  return epoll_ctl(run->instance->epoll_fd, EPOLL_CTL_ADD, run->fds[which], &event);
}

static void reap_now(run_t *run) {
  int status;
  kill_run(run);
  while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR) {}
}

/* Under the lock: the run becomes the event loop's, watched, or failed and reported. */
static void hand_over(instance_t *instance, run_t *run) {
  if (!run->start_error) {
    if (run->kill_requested) kill_run(run);
    if (run->released & 1) close_fd(&run->fds[PIPE_OUT]);
    if (run->released & 2) close_fd(&run->fds[PIPE_ERR]);
    if (add_to_set(run, PIPE_EXIT, EPOLLIN) < 0 ||
        (run->fds[PIPE_OUT] >= 0 && !run->paused && add_to_set(run, PIPE_OUT, EPOLLIN) < 0) ||
        (run->fds[PIPE_ERR] >= 0 && add_to_set(run, PIPE_ERR, EPOLLIN) < 0)) {
      /* Cannot watch it: the script is killed and reaped, and JavaScript told why. */
      run->start_error = errno;
      for (int i = 0; i < 3; i++) {
        if (run->fds[i] >= 0) epoll_ctl(instance->epoll_fd, EPOLL_CTL_DEL, run->fds[i], NULL);
      }
      reap_now(run);
    }
  }
  if (run->start_error) {
    for (int i = 0; i < 3; i++) close_fd(&run->fds[i]);
    run->next = instance->failed;
    instance->failed = run;
    uint64_t one = 1;
    if (write(instance->failure_fd, &one, sizeof one) < 0) {
      /* The counter cannot overflow here; the loop is already due to read it. */
    }
    __atomic_store_n(&run->state, RUN_FAILED, __ATOMIC_RELEASE);
    return;
  }
  __atomic_store_n(&run->state, RUN_STARTED, __ATOMIC_RELEASE);
}

static void start_one(instance_t *instance, run_t *run) {
  run->cgroup = cgroup_take();
  run->child.cgroup_fd = run->cgroup ? run->cgroup->dir_fd : -1;
  int pid = start_child(&run->child, &run->fds[PIPE_EXIT]);
  if (pid < 0) {
    run->start_error = errno;
  } else {
    run->pid = pid;
  }
  /* Not started, or started outside it (clone3 refused it): the cgroup holds nothing of this run. */
  if (run->cgroup && (pid < 0 || run->child.subreaper)) {
    cgroup_release(run->cgroup);
    run->cgroup = NULL;
  }
  for (int i = 0; i < 3; i++) close_fd(&run->child_ends[i]);
  if (!run->start_error) {
    pthread_mutex_lock(&instance->lock);
    /* From here a kill need not wait for the hand-over. */
    run->pid_known = 1;
    int kill_now = run->kill_requested;
    pthread_mutex_unlock(&instance->lock);
    if (kill_now) kill_run(run);
    struct pollfd exit_ready = {.fd = run->fds[PIPE_EXIT], .events = POLLIN};
    while (poll(&exit_ready, 1, HOLD_MS) < 0 && errno == EINTR) {}
  }
  pthread_mutex_lock(&instance->lock);
  hand_over(instance, run);
  pthread_mutex_unlock(&instance->lock);
}

/* Under the lock, idle: waits for a run to start; while cgroups of killed runs wait to be
 * found empty, looks again every SWEEP_MS and sweeps them, off the event loop. */
static void wait_idle(instance_t *instance) {
  instance->idle++;
  if (!cgroup_draining()) {
    pthread_cond_wait(&instance->wake, &instance->lock);
    instance->idle--;
    return;
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += SWEEP_MS * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  int timed_out = pthread_cond_timedwait(&instance->wake, &instance->lock, &until) == ETIMEDOUT;
  instance->idle--;
  if (timed_out && !instance->queue_head && !instance->stopping) {
    pthread_mutex_unlock(&instance->lock);
    cgroup_sweep();
    pthread_mutex_lock(&instance->lock);
  }
}

static void *starter_main(void *opaque) {
  instance_t *instance = opaque;
  pthread_mutex_lock(&instance->lock);
  for (;;) {
    while (!instance->queue_head && !instance->stopping) wait_idle(instance);
    if (instance->stopping) break;
    run_t *run = instance->queue_head;
    instance->queued--;
    instance->queue_head = run->next;
    if (!instance->queue_head) instance->queue_tail = NULL;
    run->next = NULL;
    __atomic_store_n(&run->state, RUN_STARTING, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&instance->lock);
    start_one(instance, run);
    pthread_mutex_lock(&instance->lock);
  }
  pthread_mutex_unlock(&instance->lock);
  return NULL;
}

void wake_sweeper(instance_t *instance) {
  pthread_mutex_lock(&instance->lock);
  /* An idle thread waiting without a time limit is to wait with one now. */
  if (instance->idle > instance->queued) pthread_cond_signal(&instance->wake);
  pthread_mutex_unlock(&instance->lock);
}

int queue_start(instance_t *instance, run_t *run) {
  int status = 0;
  pthread_mutex_lock(&instance->lock);
  __atomic_store_n(&run->state, RUN_QUEUED, __ATOMIC_RELEASE);
  run->next = NULL;
  if (instance->queue_tail) instance->queue_tail->next = run;
  else instance->queue_head = run;
  instance->queue_tail = run;
  instance->queued++;
  /* A thread woken a moment ago counts as idle until it runs, and the run it was woken for
   * is still queued: only idle threads beyond the queued runs are free for this one. */
  if (instance->idle >= instance->queued) {
    pthread_cond_signal(&instance->wake);
  } else if (instance->thread_count < MAX_STARTERS) {
    /* The threads block no signal of their own: they inherit the event loop thread's mask. */
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 256 * 1024);
    status = pthread_create(&instance->threads[instance->thread_count], &attributes, starter_main, instance);
    pthread_attr_destroy(&attributes);
    /* Named, to be told apart from Node's own threads (top -H, /proc/PID/task). */
    if (status == 0) pthread_setname_np(instance->threads[instance->thread_count++], "tsgi-starter");
    /* Without a new thread the run waits for a busy one, unless there is none at all. */
    else if (instance->thread_count > 0) status = 0;
  }
  if (status != 0) {
    /* No thread at all: the queue holds this run alone. */
    instance->queue_head = instance->queue_tail = NULL;
    instance->queued = 0;
  }
  pthread_mutex_unlock(&instance->lock);
  return status;
}

run_t *take_failed(instance_t *instance) {
  pthread_mutex_lock(&instance->lock);
  run_t *failed = instance->failed;
  instance->failed = NULL;
  pthread_mutex_unlock(&instance->lock);
  return failed;
}

/* Waits for the threads to finish the start they are in; queued starts are dropped. */
void stop_starters(instance_t *instance) {
  pthread_mutex_lock(&instance->lock);
  instance->stopping = 1;
  pthread_cond_broadcast(&instance->wake);
  pthread_mutex_unlock(&instance->lock);
  for (int i = 0; i < instance->thread_count; i++) pthread_join(instance->threads[i], NULL);
  instance->thread_count = 0;
}
