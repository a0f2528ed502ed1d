/*
 * Killing a script's descendants without a cgroup: what /proc says is its tree (parent links)
 * or its session. The script is started as a child subreaper (child.c), so while it runs an
 * orphan of a double fork comes back to it rather than to init: everything it started stays
 * in its tree, setsid or not. Once it has exited, what kept its session is still found.
 *
 * Each round stops (SIGSTOP) what it finds before looking again, so nothing forks away
 * between the look and the kill; the kill comes once a round finds nothing new. A /proc scan
 * reads every process's stat file (about a millisecond for a few hundred processes), which is
 * why cgroups come first and this only runs for a kill.
 */
#define _GNU_SOURCE
#include "descendants.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROUNDS 8

typedef struct {
  int pid, ppid, sid;
  int marked;
} entry_t;

typedef struct {
  int *pids;
  size_t count, capacity;
} pid_list_t;

static int by_pid(const void *a, const void *b) {
  int x = ((const entry_t *)a)->pid, y = ((const entry_t *)b)->pid;
  return (x > y) - (x < y);
}

static int read_stat(int pid, entry_t *entry) {
  char path[40], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t size = read(fd, text, sizeof text - 1);
  close(fd);
  if (size <= 0) return -1;
  text[size] = '\0';
  /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
  char *after = strrchr(text, ')');
  char state;
  int ppid, pgrp, sid;
  if (!after || sscanf(after + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) != 4) return -1;
  entry->pid = pid;
  entry->ppid = ppid;
  entry->sid = sid;
  entry->marked = 0;
  return 0;
}

/* Every process, sorted by pid; NULL when /proc cannot be read. */
static entry_t *scan(size_t *count) {
  DIR *dir = opendir("/proc");
  if (!dir) return NULL;
  size_t capacity = 512, used = 0;
  entry_t *entries = malloc(capacity * sizeof *entries);
  struct dirent *item;
  while (entries && (item = readdir(dir))) {
    if (!isdigit((unsigned char)item->d_name[0])) continue;
    if (used == capacity) {
      entry_t *grown = realloc(entries, (capacity *= 2) * sizeof *entries);
      if (!grown) {
        free(entries);
        entries = NULL;
        break;
      }
      entries = grown;
    }
    if (read_stat(atoi(item->d_name), &entries[used]) == 0) used++;
  }
  closedir(dir);
  if (entries) qsort(entries, used, sizeof *entries, by_pid);
  *count = used;
  return entries;
}

static entry_t *find(entry_t *entries, size_t count, int pid) {
  entry_t key = {.pid = pid};
  return bsearch(&key, entries, count, sizeof *entries, by_pid);
}

static int listed(const pid_list_t *list, int pid) {
  for (size_t i = 0; i < list->count; i++) {
    if (list->pids[i] == pid) return 1;
  }
  return 0;
}

static int add(pid_list_t *list, int pid) {
  if (list->count == list->capacity) {
    size_t capacity = list->capacity ? list->capacity * 2 : 16;
    int *grown = realloc(list->pids, capacity * sizeof *grown);
    if (!grown) return -1;
    list->pids = grown;
    list->capacity = capacity;
  }
  list->pids[list->count++] = pid;
  return 0;
}

/* One look: stops what belongs to `root` and was not stopped yet; returns how many. */
static int round_of(int root, pid_list_t *stopped) {
  size_t count = 0;
  entry_t *entries = scan(&count);
  if (!entries) return 0;
  for (size_t i = 0; i < count; i++) {
    entry_t *entry = &entries[i];
    entry->marked = entry->pid == root || entry->sid == root || listed(stopped, entry->pid);
  }
  /* Down the tree, a level per pass; a pass that marks nothing ends it. */
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < count; i++) {
      if (entries[i].marked) continue;
      entry_t *parent = find(entries, count, entries[i].ppid);
      if (parent && parent->marked) entries[i].marked = changed = 1;
    }
  }
  int found = 0;
  for (size_t i = 0; i < count; i++) {
    if (!entries[i].marked || listed(stopped, entries[i].pid)) continue;
    if (add(stopped, entries[i].pid) < 0) break;
    kill(entries[i].pid, SIGSTOP);
    found++;
  }
  free(entries);
  return found;
}

void kill_descendants(int root) {
  if (root <= 1) return;
  pid_list_t stopped = {0};
  for (int i = 0; i < MAX_ROUNDS && round_of(root, &stopped) > 0; i++) {}
  for (size_t i = 0; i < stopped.count; i++) kill(stopped.pids[i], SIGKILL);
  kill(-root, SIGKILL);
  kill(root, SIGKILL);
  free(stopped.pids);
}
