/*
 * Starting a program without fork(): clone(CLONE_VM | CLONE_VFORK) shares the server's page
 * tables instead of copying them, so a start costs the same however large the server is.
 * The calling thread waits until the child has called execve; the launcher calls this from a
 * thread of libuv's pool, so the event loop never waits.
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK (32 * 1024)

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
  /* The launcher keeps its pipe ends above 2, so these never overwrite one another. */
  if (dup2(args->stdout_fd, 1) < 0 || dup2(args->stderr_fd, 2) < 0) goto fail;
  /* Everything else stays behind: the server's own descriptors are close-on-exec, but one it
   * inherited without that flag (a socket from its parent, say) is not the script's business. */
  syscall(SYS_close_range, 3, ~0U, 0);
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

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

int start_child(child_args_t *args, int *pidfd) {
  /* Every signal stays blocked while the child shares this thread's memory and handlers. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  char stack[CHILD_STACK] __attribute__((aligned(16)));
  args->error = 0;
  /* CLONE_PIDFD (Linux 5.2) hands back the pidfd the launcher watches the exit with. */
  *pidfd = -1;
  int pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, args, pidfd);
  int clone_error = errno;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (pid < 0) {
    errno = clone_error;
    return -1;
  }
  if (args->error) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (*pidfd >= 0) close(*pidfd);
    *pidfd = -1;
    errno = args->error;
    return -1;
  }
  return pid;
}
