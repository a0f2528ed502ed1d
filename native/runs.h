/* The launcher's state: one instance per JavaScript environment, one run per script. */
#ifndef TSGI_RUNS_H
#define TSGI_RUNS_H

#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "cgroup.h"
#include "child.h"

#define CHUNK (64 * 1024)
#define MAX_STARTERS 8

enum { PIPE_OUT, PIPE_ERR, PIPE_EXIT };

/* A run's state. QUEUED and STARTING runs belong to the starter threads (under the instance's
 * lock); from STARTED or FAILED on, only the event loop's thread touches them. */
enum { RUN_QUEUED, RUN_STARTING, RUN_STARTED, RUN_FAILED };

typedef struct instance instance_t;
typedef struct run run_t;

struct run {
  instance_t *instance;
  run_t *next; /* in the start queue, or in the list of failed starts */
  uint32_t slot, generation;
  double id;
  int state; /* read with __atomic_load_n: set by a starter thread */
  child_args_t child;
  run_cgroup_t *cgroup; /* NULL: none here, the script is a subreaper instead (descendants.c) */
  int start_error;
  int child_ends[3]; /* the child's stdin, stdout, stderr */
  int fds[3];        /* stdout, stderr, pidfd: ours, -1 once closed */
  int pid;
  int pid_known; /* under the lock: the starter has the pid, and kills at once when asked */
  int exited;
  /* Asked for by JavaScript before the start completed; the starter honours them. */
  int paused, kill_requested, released;
};

struct instance {
  napi_env env;
  napi_ref dispatcher;
  napi_ref resource;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup_hook;
  uv_poll_t poll;
  int epoll_fd;
  int failure_fd; /* an eventfd in the set: a starter tells the loop about failed starts */
  /* Every script without a body gets it as stdin, with no path lookup per run. One per
   * instance, closed with it: a worker that ends unloads the addon, and loads it afresh. */
  int dev_null;
  int active;     /* runs not yet freed: the poll keeps the loop alive while > 0 */
  /* the run table: ids are slot + generation, so a dead id never names a new run */
  run_t **slots;
  uint32_t capacity, used;
  uint32_t *free_slots;
  uint32_t free_count;
  uint32_t *generations;
  /* the starter threads */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  run_t *queue_head, *queue_tail;
  int queued; /* runs in the queue: each one is an idle thread's, once that thread wakes */
  run_t *failed;
  pthread_t threads[MAX_STARTERS];
  int thread_count, idle, stopping;
  unsigned char buffer[CHUNK];
};

/* starter.c */
int queue_start(instance_t *instance, run_t *run);
void stop_starters(instance_t *instance);
uint64_t event_key(run_t *run, int which);
int add_to_set(run_t *run, int which, uint32_t events);
run_t *take_failed(instance_t *instance);

#define FAILURE_KEY UINT64_MAX

#endif
