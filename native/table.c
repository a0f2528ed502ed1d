/* The run table and a run's lifetime: ids are slot + generation, so a dead id never names a new run. */
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

#include "descendants.h"
#include "launcher.h"

#define SLOT_BITS 20
#define MAX_SLOTS (1u << SLOT_BITS)

/* ---------- the run table: ids are slot + generation, so a dead id never names a new run ---------- */

static double make_id(uint32_t slot, uint32_t generation) {
  return (double)generation * MAX_SLOTS + slot;
}

run_t *find_run(instance_t *instance, double id) {
  if (!(id >= 0)) return NULL;
  uint64_t number = (uint64_t)id;
  uint32_t slot = (uint32_t)(number % MAX_SLOTS);
  if (slot >= instance->capacity) return NULL;
  run_t *run = instance->slots[slot];
  return run && run->id == id ? run : NULL;
}

int add_run(instance_t *instance, run_t *run) {
  uint32_t slot;
  if (instance->free_count > 0) {
    slot = instance->free_slots[--instance->free_count];
  } else {
    if (instance->used == instance->capacity) {
      uint32_t capacity = instance->capacity ? instance->capacity * 2 : 64;
      if (capacity > MAX_SLOTS) return -1;
      run_t **slots = realloc(instance->slots, capacity * sizeof *slots);
      if (!slots) return -1;
      instance->slots = slots;
      uint32_t *free_slots = realloc(instance->free_slots, capacity * sizeof *free_slots);
      if (!free_slots) return -1;
      instance->free_slots = free_slots;
      uint32_t *generations = realloc(instance->generations, capacity * sizeof *generations);
      if (!generations) return -1;
      memset(generations + instance->capacity, 0, (capacity - instance->capacity) * sizeof *generations);
      instance->generations = generations;
      instance->capacity = capacity;
    }
    slot = instance->used++;
  }
  run->slot = slot;
  run->generation = ++instance->generations[slot];
  run->id = make_id(slot, run->generation);
  instance->slots[slot] = run;
  return 0;
}

void count_active(instance_t *instance, int change) {
  int before = instance->active;
  instance->active += change;
  if (before == 0 && instance->active > 0) uv_ref((uv_handle_t *)&instance->poll);
  if (before > 0 && instance->active == 0) uv_unref((uv_handle_t *)&instance->poll);
}

int state_of(run_t *run) {
  return __atomic_load_n(&run->state, __ATOMIC_ACQUIRE);
}

/* Takes a descriptor of a started run out of the set before closing it: a child that a
 * starter is just starting may hold a copy of it until its execve, and epoll forgets a file
 * only when every copy is closed. */
void stop_fd(run_t *run, int which) {
  if (run->fds[which] < 0) return;
  epoll_ctl(run->instance->epoll_fd, EPOLL_CTL_DEL, run->fds[which], NULL);
  close_fd(&run->fds[which]);
}

/* Reaps an exited run's zombie: until then its pid, and with it the id of its process group,
 * can name no other process, so a kill after the exit reaches only what the script left. */
void reap_zombie(run_t *run) {
  if (!run->exited || run->fds[PIPE_EXIT] < 0) return;
  siginfo_t info;
  while (syscall(SYS_waitid, P_PIDFD, run->fds[PIPE_EXIT], &info, WEXITED | WNOHANG, NULL) < 0 && errno == EINTR) {}
}

/* SIGKILL to everything the run started: its cgroup, or what /proc finds of its tree and
 * session. Any thread, once the run's pid is known. */
void kill_run(run_t *run) {
  if (run->cgroup) {
    cgroup_kill(run->cgroup);
    kill(-run->pid, SIGKILL);
  } else {
    kill_descendants(run->pid);
  }
}

void free_run(run_t *run) {
  instance_t *instance = run->instance;
  reap_zombie(run);
  /* What the script left running ends with its run. */
  if (run->cgroup) {
    cgroup_release(run->cgroup);
    /* Killed, its cgroup waits to be found empty: a starter thread is to come back for it. */
    if (cgroup_draining()) wake_sweeper(instance);
  }
  run->cgroup = NULL;
  for (int i = 0; i < 3; i++) {
    close_fd(&run->fds[i]);
    close_fd(&run->child_ends[i]);
  }
  instance->slots[run->slot] = NULL;
  instance->free_slots[instance->free_count++] = run->slot;
  count_active(instance, -1);
  free_child_args(&run->child);
  free(run);
}

/* A started run is over once it has exited and both pipes are closed: its slot is freed. */
void maybe_free_run(run_t *run) {
  if (!run->exited || run->fds[PIPE_OUT] >= 0 || run->fds[PIPE_ERR] >= 0) return;
  free_run(run);
}
