/* A cgroup v2 per run, so that a kill reaches everything a script started, setsid or not. */
#ifndef TSGI_CGROUP_H
#define TSGI_CGROUP_H

typedef struct run_cgroup run_cgroup_t;

struct run_cgroup {
  run_cgroup_t *next; /* in the pool or the draining list */
  run_cgroup_t *all_next;
  int dir_fd;    /* the cgroup's folder, for clone3's CLONE_INTO_CGROUP and the *at calls */
  int events_fd; /* cgroup.events: "populated 0" once nothing runs in it */
  unsigned number;
  int killed; /* cgroup.kill was written (read and written under the pool's lock) */
};

/* A cgroup nothing runs in, for one run; NULL when run cgroups are not available here (see
 * cgroup_unavailable()) or this one could not be made. Thread-safe. */
run_cgroup_t *cgroup_take(void);

/* The run is over: whatever still runs in its cgroup is killed, and the cgroup serves another
 * run once it is empty. Thread-safe. */
void cgroup_release(run_cgroup_t *cgroup);

/* Whether cgroups of finished runs wait to be found empty (for cgroup_sweep). Thread-safe. */
int cgroup_draining(void);

/* Every waiting cgroup found empty joins the pool, or is removed if it was killed and the
 * kernel would kill what starts in it: what cgroup_take does for a few at each start, for all
 * of them. For a starter thread, not the event loop (a removal waits in the kernel). Thread-safe. */
void cgroup_sweep(void);

/* SIGKILL to every process in the cgroup (cgroup.kill), at once and whatever their session. */
void cgroup_kill(run_cgroup_t *cgroup);

/* Why runs get no cgroup of their own, or NULL when they do; `where` gets the folder the run
 * cgroups are made in. Decided once per process, on the first call. */
const char *cgroup_unavailable(const char **where);

/* clone3 refused to start a child in a run cgroup (errno `error`): no run gets one from now on. */
void cgroup_refused(int error);

#endif
