/*
 * Run cgroups. A process group or a session is the script's to leave (setsid); a cgroup is
 * not: a script run as another user cannot move itself out of one, and cgroup.kill (Linux
 * 5.14) ends every process in it at once. Each run is started inside a cgroup of its own with
 * clone3's CLONE_INTO_CGROUP (Linux 5.7), so not even its first instruction runs outside.
 *
 * The cgroups live in a folder of this process's own, under the cgroup it was started in:
 * tsgi-PID in the cgroup2 hierarchy. That cgroup holds this process, so the "no internal
 * processes" rule has kept every controller out of its cgroup.subtree_control, and folders
 * made in it get none either: nothing has to be moved first, and no limit applies to runs.
 *
 * Making and removing a cgroup costs about 60 us, most of it waiting in the kernel, so empty
 * ones are kept for later runs: a pool. A run that ends with something still inside has it
 * killed; the cgroup waits on the draining list until the kernel reports it empty, and is then
 * removed by a starter thread (not the event loop) rather than used again: some kernels (6.18
 * here) compare the cgroup.kill count of the target cgroup with that of the parent's own at
 * clone3, and kill every child started in a cgroup that was ever killed. A probe at start-up
 * tells; where the kernel gets it right, killed cgroups go back to the pool too. A start looks
 * at a few draining cgroups; an idle starter thread sweeps them all, so that a burst of killed
 * runs (1,000 clients that went away) does not hold two descriptors each until later runs come.
 *
 * This process's folder is removed at exit. A process killed by a signal cannot do that: a
 * watchdog (a shell reading a pipe only this process holds) kills what is left in the folder
 * and removes it when the pipe closes without the line a clean exit writes first; and a later
 * tsgi in the same cgroup removes the folders of tsgi processes that no longer run.
 */
#define _GNU_SOURCE
#include "cgroup.h"
#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 128
/* Draining cgroups looked at per take: each look is one read. */
#define DRAIN_CHECKS 4

extern char **environ;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char reason[PATH_MAX + 160];
static const char *unavailable; /* NULL: run cgroups work */
static char parent[PATH_MAX];
static int parent_fd = -1;
static int watchdog_fd = -1;
static int closing;
static int reuse_killed; /* the kernel starts children normally in a cgroup once killed */
static run_cgroup_t *pool, *draining, *all;
static unsigned pool_size, next_number;

static const char WATCHDOG[] =
    /* A line: tsgi is cleaning up itself. The end of the pipe without one: tsgi has died (a
     * zombie still answers kill -0, so its pid would not tell). */
    "read _ && exit 0\n"
    "echo 1 > \"$1/cgroup.kill\" || exit 0\n"
    "i=0\n"
    "while [ $i -lt 100 ]; do\n"
    "  for d in \"$1\"/r*; do rmdir \"$d\"; done\n"
    "  rmdir \"$1\" && exit 0\n"
    "  i=$((i + 1)); sleep 0.1\n"
    "done\n";

static void set_reason(const char *format, const char *a, const char *b) {
  if (snprintf(reason, sizeof reason, format, a, b) >= (int)sizeof reason) reason[sizeof reason - 4] = reason[sizeof reason - 3] = reason[sizeof reason - 2] = '.';
  unavailable = reason;
}

/* 1 when something runs in the cgroup (folder `dir_fd`, or `events_fd` open on its
 * cgroup.events), 0 when nothing does, -1 when it cannot be told. */
static int populated_fd(int events_fd) {
  char text[128];
  ssize_t size = pread(events_fd, text, sizeof text - 1, 0);
  if (size <= 0) return -1;
  text[size] = '\0';
  const char *field = strstr(text, "populated ");
  if (!field) return -1;
  return field[10] == '1';
}

static void kill_at(int dir_fd) {
  int fd = openat(dir_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, "1", 1) < 0) {
    /* The cgroup is gone already, and what ran in it with it. */
  }
  close(fd);
}

static void pause_ms(long ms) {
  struct timespec pause = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
  nanosleep(&pause, NULL);
}

/* ---------- left by tsgi processes that were killed ---------- */

static int is_tsgi_folder(const char *name, long *pid) {
  if (strncmp(name, "tsgi-", 5) != 0) return 0;
  char *end;
  *pid = strtol(name + 5, &end, 10);
  return end != name + 5 && (*end == '\0' || *end == '-') && *pid > 0;
}

/* Removes the cgroup `name` in `base_fd` and the cgroups below it (a Python helper's folder
 * holds run cgroups of its own), depth first; one still busy stays. */
static void remove_cgroups(int base_fd, const char *name, int depth) {
  int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR *dir = depth < 4 ? fdopendir(dup(fd)) : NULL;
  struct dirent *entry;
  while (dir && (entry = readdir(dir))) {
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') remove_cgroups(fd, entry->d_name, depth + 1);
  }
  if (dir) closedir(dir);
  close(fd);
  unlinkat(base_fd, name, AT_REMOVEDIR);
}

/* Kills what is left in `name` (folder `base_fd`) and below, waits briefly for it to go and
 * removes the folders. */
static void remove_folder(int base_fd, const char *name) {
  int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  kill_at(fd);
  int events = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  for (int i = 0; i < 20 && events >= 0 && populated_fd(events) == 1; i++) pause_ms(5);
  if (events >= 0) close(events);
  close(fd);
  remove_cgroups(base_fd, name, 0);
}

static void remove_stale(const char *base) {
  int base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base_fd < 0) return;
  DIR *dir = fdopendir(dup(base_fd));
  if (!dir) {
    close(base_fd);
    return;
  }
  struct dirent *entry;
  long self = getpid(), pid;
  while ((entry = readdir(dir))) {
    if (entry->d_type != DT_DIR || !is_tsgi_folder(entry->d_name, &pid) || pid == self) continue;
    /* Alive (EPERM: alive, as another user): its folder is its own business. */
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    remove_folder(base_fd, entry->d_name);
  }
  closedir(dir);
  close(base_fd);
}

/* ---------- deciding, once per process ---------- */

/* The cgroup2 mount's root and mount point (octal escapes in mountinfo undone), or -1. */
static int find_mount(char *root, char *mount_point, size_t size) {
  FILE *file = fopen("/proc/self/mountinfo", "re");
  if (!file) return -1;
  char line[4096];
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, file)) {
    const char *separator = strstr(line, " - cgroup2 ");
    if (!separator) continue;
    char fields[2][PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", fields[0], fields[1]) != 2) continue;
    for (int f = 0; f < 2; f++) {
      char *out = f == 0 ? root : mount_point;
      size_t o = 0;
      for (const char *in = fields[f]; *in && o + 1 < size; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] && in[3]) {
          out[o++] = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
          in += 3;
        } else {
          out[o++] = *in;
        }
      }
      out[o] = '\0';
    }
    found = 0;
  }
  fclose(file);
  return found;
}

/* This process's cgroup in the v2 hierarchy ("0::PATH"), or -1. */
static int own_cgroup(char *path, size_t size) {
  FILE *file = fopen("/proc/self/cgroup", "re");
  if (!file) return -1;
  char line[PATH_MAX + 8];
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, file)) {
    if (strncmp(line, "0::", 3) != 0) continue;
    line[strcspn(line, "\n")] = '\0';
    if (strlen(line + 3) >= size) break;
    memcpy(path, line + 3, strlen(line + 3) + 1);
    found = 0;
  }
  fclose(file);
  return found;
}

/* A shell that outlives this process when it is killed, to clean up after it. */
static void start_watchdog(void) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) < 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  /* Its own session: a signal to tsgi's process group does not reach it. */
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  char *argv[] = {"sh", "-c", (char *)WATCHDOG, "tsgi-cgroup-watchdog", parent, NULL};
  char *envp[] = {"PATH=/usr/bin:/bin", NULL};
  pid_t pid;
  int failed = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(ends[0]);
  if (failed) {
    close(ends[1]);
    return;
  }
  watchdog_fd = ends[1];
}

static void teardown(void);

/* Whether a child starts and runs in a fresh cgroup made here (-1, with the reason, if not),
 * and whether it still does in one that was killed (reuse_killed). */
static int probe(int folder_fd) {
  if (mkdirat(folder_fd, "probe", 0755) < 0 && errno != EEXIST) {
    set_reason("cannot make a cgroup in %s (%s)", parent, strerror(errno));
    return -1;
  }
  int fd = openat(folder_fd, "probe", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int status = fd < 0 ? -1 : probe_cgroup_start(fd);
  int works = status == 0;
  if (status < 0) set_reason("clone3 cannot start a child in a cgroup made in %s (%s)", parent, strerror(errno));
  else if (status != 0) set_reason("the kernel kills a child started in a fresh cgroup in %s (%s)", parent, strsignal(WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  if (works) {
    kill_at(fd);
    reuse_killed = probe_cgroup_start(fd) == 0;
  }
  if (fd >= 0) close(fd);
  unlinkat(folder_fd, "probe", AT_REMOVEDIR);
  return works ? 0 : -1;
}

static void decide(void) {
  const char *setting = getenv("TSGI_RUN_CGROUPS");
  if (setting && strcmp(setting, "0") == 0) {
    set_reason("TSGI_RUN_CGROUPS=0 turns them off", "", "");
    return;
  }
#if !defined(__x86_64__)
  set_reason("only the x86-64 build starts scripts with clone3", "", "");
  return;
#endif
  char root[PATH_MAX], mount_point[PATH_MAX], own[PATH_MAX], base[PATH_MAX];
  if (find_mount(root, mount_point, sizeof root) < 0) {
    set_reason("no cgroup2 file system is mounted", "", "");
    return;
  }
  if (own_cgroup(own, sizeof own) < 0) {
    set_reason("this process has no cgroup v2 in /proc/self/cgroup", "", "");
    return;
  }
  const char *inside = own;
  size_t root_length = strlen(root);
  if (strcmp(root, "/") != 0) {
    if (strncmp(own, root, root_length) != 0 || (own[root_length] != '/' && own[root_length] != '\0')) {
      set_reason("this process's cgroup %s is outside the cgroup2 mount at %s", own, mount_point);
      return;
    }
    inside = own + root_length;
  }
  if (strcmp(inside, "/") == 0) inside = "";
  size_t mount_length = strlen(mount_point), inside_length = strlen(inside);
  /* Room for "/tsgi-PID" after it, and for "/rN/cgroup.events" in the watchdog's loop. */
  if (mount_length + inside_length + 64 >= sizeof base) {
    set_reason("the path of this process's cgroup is too long", "", "");
    return;
  }
  memcpy(base, mount_point, mount_length);
  memcpy(base + mount_length, inside, inside_length + 1);
  memcpy(parent, base, mount_length + inside_length);
  snprintf(parent + mount_length + inside_length, 32, "/tsgi-%ld", (long)getpid());
  if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
    char error[64];
    snprintf(error, sizeof error, "%s", strerror(errno));
    set_reason("cannot make a cgroup in %s (%s)", base, error);
    return;
  }
  parent_fd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0 || faccessat(parent_fd, "cgroup.kill", W_OK, 0) < 0) {
    set_reason("%s has no cgroup.kill to write (Linux 5.14 or later has one)", base, "");
    if (parent_fd >= 0) close(parent_fd);
    parent_fd = -1;
    rmdir(parent);
    return;
  }
  if (probe(parent_fd) < 0) {
    close(parent_fd);
    parent_fd = -1;
    rmdir(parent);
    return;
  }
  remove_stale(base);
  start_watchdog();
  atexit(teardown);
}

const char *cgroup_unavailable(const char **where) {
  pthread_once(&once, decide);
  if (where) *where = parent;
  pthread_mutex_lock(&lock);
  const char *why = unavailable;
  pthread_mutex_unlock(&lock);
  return why;
}

void cgroup_refused(int error) {
  pthread_mutex_lock(&lock);
  if (!unavailable) {
    snprintf(reason, sizeof reason, "clone3 could not start a script in %s/r* (%s)", parent, strerror(error));
    unavailable = reason;
  }
  pthread_mutex_unlock(&lock);
}

/* ---------- the pool ---------- */

static run_cgroup_t *make(unsigned number) {
  char name[24];
  snprintf(name, sizeof name, "r%u", number);
  if (mkdirat(parent_fd, name, 0755) < 0 && errno != EEXIST) return NULL;
  run_cgroup_t *cgroup = calloc(1, sizeof *cgroup);
  if (!cgroup) {
    unlinkat(parent_fd, name, AT_REMOVEDIR);
    return NULL;
  }
  cgroup->number = number;
  cgroup->dir_fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cgroup->events_fd = cgroup->dir_fd < 0 ? -1 : openat(cgroup->dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (cgroup->events_fd < 0) {
    if (cgroup->dir_fd >= 0) close(cgroup->dir_fd);
    unlinkat(parent_fd, name, AT_REMOVEDIR);
    free(cgroup);
    return NULL;
  }
  pthread_mutex_lock(&lock);
  cgroup->all_next = all;
  all = cgroup;
  pthread_mutex_unlock(&lock);
  return cgroup;
}

/* Closes and removes a cgroup taken out of every list but `all`. */
static void destroy(run_cgroup_t *cgroup) {
  pthread_mutex_lock(&lock);
  for (run_cgroup_t **link = &all; *link; link = &(*link)->all_next) {
    if (*link == cgroup) {
      *link = cgroup->all_next;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  char name[24];
  snprintf(name, sizeof name, "r%u", cgroup->number);
  close(cgroup->events_fd);
  close(cgroup->dir_fd);
  unlinkat(parent_fd, name, AT_REMOVEDIR);
  free(cgroup);
}

/* Under the lock: up to `limit` draining cgroups looked at; those found empty join the pool, or `spent` to be removed. */
static void recycle_drained(run_cgroup_t **spent, unsigned limit) {
  run_cgroup_t **link = &draining;
  for (unsigned checked = 0; *link && checked < limit; checked++) {
    run_cgroup_t *cgroup = *link;
    if (populated_fd(cgroup->events_fd) != 0) {
      link = &cgroup->next;
      continue;
    }
    *link = cgroup->next;
    if (cgroup->killed && !reuse_killed) {
      cgroup->next = *spent;
      *spent = cgroup;
    } else {
      cgroup->killed = 0;
      cgroup->next = pool;
      pool = cgroup;
      pool_size++;
    }
  }
}

run_cgroup_t *cgroup_take(void) {
  if (cgroup_unavailable(NULL)) return NULL;
  pthread_mutex_lock(&lock);
  if (closing) {
    pthread_mutex_unlock(&lock);
    return NULL;
  }
  run_cgroup_t *spent = NULL;
  if (draining) recycle_drained(&spent, DRAIN_CHECKS);
  run_cgroup_t *cgroup = pool;
  unsigned number = 0;
  if (cgroup) {
    pool = cgroup->next;
    pool_size--;
    cgroup->next = NULL;
  } else {
    number = next_number++;
  }
  pthread_mutex_unlock(&lock);
  while (spent) {
    run_cgroup_t *next = spent->next;
    destroy(spent);
    spent = next;
  }
  return cgroup ? cgroup : make(number);
}

int cgroup_draining(void) {
  pthread_mutex_lock(&lock);
  int waiting = draining != NULL && !closing;
  pthread_mutex_unlock(&lock);
  return waiting;
}

void cgroup_sweep(void) {
  run_cgroup_t *spent = NULL;
  pthread_mutex_lock(&lock);
  if (!closing) recycle_drained(&spent, UINT_MAX);
  pthread_mutex_unlock(&lock);
  while (spent) {
    run_cgroup_t *next = spent->next;
    destroy(spent);
    spent = next;
  }
}

void cgroup_kill(run_cgroup_t *cgroup) {
  pthread_mutex_lock(&lock);
  cgroup->killed = 1;
  pthread_mutex_unlock(&lock);
  kill_at(cgroup->dir_fd);
}

void cgroup_release(run_cgroup_t *cgroup) {
  int populated = populated_fd(cgroup->events_fd);
  if (populated < 0) return destroy(cgroup);
  if (populated) cgroup_kill(cgroup);
  pthread_mutex_lock(&lock);
  /* Emptied or removed by a starter thread, off the event loop. */
  if (populated || cgroup->killed) {
    cgroup->next = draining;
    draining = cgroup;
  } else if (pool_size < POOL_MAX && !closing) {
    cgroup->next = pool;
    pool = cgroup;
    pool_size++;
  } else {
    pthread_mutex_unlock(&lock);
    return destroy(cgroup);
  }
  pthread_mutex_unlock(&lock);
}

/* At exit: whatever runs in a run cgroup is killed with this process, and the folder goes. */
static void teardown(void) {
  pthread_mutex_lock(&lock);
  closing = 1;
  run_cgroup_t *cgroups = all;
  all = pool = draining = NULL;
  pthread_mutex_unlock(&lock);
  for (run_cgroup_t *cgroup = cgroups; cgroup; cgroup = cgroup->all_next) cgroup_kill(cgroup);
  /* SIGKILLed processes go within moments; one stuck in the kernel is not waited for long. */
  for (int i = 0; i < 100; i++) {
    int busy = 0;
    for (run_cgroup_t *cgroup = cgroups; cgroup && !busy; cgroup = cgroup->all_next) busy = populated_fd(cgroup->events_fd) == 1;
    if (!busy) break;
    pause_ms(10);
  }
  while (cgroups) {
    run_cgroup_t *next = cgroups->all_next;
    char name[24];
    snprintf(name, sizeof name, "r%u", cgroups->number);
    close(cgroups->events_fd);
    close(cgroups->dir_fd);
    unlinkat(parent_fd, name, AT_REMOVEDIR);
    free(cgroups);
    cgroups = next;
  }
  if (parent_fd >= 0) close(parent_fd);
  parent_fd = -1;
  rmdir(parent);
  if (watchdog_fd >= 0) {
    if (write(watchdog_fd, "\n", 1) < 0) {
      /* The watchdog is gone; there is nothing left for it to do. */
    }
    close(watchdog_fd);
  }
  watchdog_fd = -1;
}
