/* The child's side of a start: what runs between clone() and execve(). */
#ifndef TSGI_CHILD_H
#define TSGI_CHILD_H

/* Everything the child needs, prepared by the parent: until it calls execve the child shares
 * the parent's memory, so it must not allocate, take a lock or touch anything else. */
typedef struct {
  const char *file;
  char **argv;
  char **sh_argv; /* "/bin/sh", file, args...: a file without #! is a shell script, as execvp does */
  char **envp;
  char *env_block; /* the strings envp points into */
  const char *cwd;
  int stdin_fd;   /* -1: open /dev/null; any other is above 2, like stdout_fd and stderr_fd */
  int stdout_fd, stderr_fd;
  long long uid, gid; /* -1: unchanged; otherwise a uid_t, which an int cannot hold */
  int handlers_cleared; /* the kernel reset the signal handlers (CLONE_CLEAR_SIGHAND) */
  int cgroup_fd;  /* -1, or the run cgroup (cgroup.c) the child starts in: CLONE_INTO_CGROUP */
  int subreaper;  /* no cgroup: the child becomes a child subreaper (descendants.c) */
  int parent_pid; /* the server's pid, for the child to tell whether it has died already */
  volatile int error; /* set by the child when it fails before execve */
} child_args_t;

/* Starts args->file in a new session with the given descriptors and returns its pid, with a
 * pidfd for it in *pidfd. Blocks the calling thread until the child has called execve (or
 * failed: then returns -1 with errno set). The child gets SIGKILL when the calling thread
 * ends (PR_SET_PDEATHSIG): the starter threads end only with the launcher, whose clean-up
 * kills every run anyway, and with the whole process when it is killed. A cgroup clone3
 * refuses is reported to cgroup.c and the child started without it, as a subreaper. */
int start_child(child_args_t *args, int *pidfd);

/* Starts a child that exits at once inside the cgroup `cgroup_fd` (CLONE_INTO_CGROUP) and
 * returns its wait status (0: it ran), or -1 with errno set when clone3 refused. */
int probe_cgroup_start(int cgroup_fd);

/* Once, before the first start: notes the signals the server ignores. */
void prepare_children(void);

#endif
