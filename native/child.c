/*
 * Starting a program without fork(): clone(CLONE_VM | CLONE_VFORK) shares the server's page
 * tables instead of copying them, so a start costs the same however large the server is.
 * The calling thread waits until the child has called execve; the launcher calls this from a
 * starter thread (starter.c), so the event loop never waits.
 */
#define _GNU_SOURCE
#include "child.h"
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK (32 * 1024)

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* Signals the server ignores: a fresh program must not inherit that (Node ignores SIGPIPE). */
static uint64_t ignored_signals;

void prepare_children(void) {
  for (int sig = 1; sig < _NSIG && sig <= 64; sig++) {
    struct sigaction action;
    if (sigaction(sig, NULL, &action) == 0 && action.sa_handler == SIG_IGN) ignored_signals |= 1ULL << (sig - 1);
  }
}

static void reset_signal(int sig) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigaction(sig, &action, NULL);
}

static int child_main(void *opaque) {
  child_args_t *args = opaque;
  /* Raw system calls: glibc's set*id wrappers signal every thread of the (shared) process. */
  if (syscall(SYS_setsid) < 0) goto fail;
  if (args->gid >= 0) {
    long gid = (gid_t)args->gid;
    if (syscall(SYS_setgroups, 0, NULL) < 0) goto fail;
    if (syscall(SYS_setresgid, gid, gid, gid) < 0) goto fail;
  }
  if (args->uid >= 0) {
    long uid = (uid_t)args->uid;
    if (syscall(SYS_setresuid, uid, uid, uid) < 0) goto fail;
  }
  /* Dies with the server, which cannot clean up after a SIGKILL (issue 11). Only now: a change
   * of user or group clears the parent-death signal (prctl(2)). And then the parent checked:
   * one that died before the prctl has sent nothing, and never will. */
  if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) goto fail;
  if (syscall(SYS_getppid) != args->parent_pid) _exit(127);
  /* Without a cgroup: what it starts and then leaves (a double fork) comes back to it, not to
   * init, so that a kill still finds it in its tree. The setting survives execve. */
  if (args->subreaper && syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) goto fail;
  if (args->cwd[0] && chdir(args->cwd) < 0) goto fail;
  if (args->stdin_fd >= 0) {
    if (dup2(args->stdin_fd, 0) < 0) goto fail;
  } else {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) goto fail;
    if (fd != 0 && (dup2(fd, 0) < 0 || close(fd) < 0)) goto fail;
  }
  /* The launcher keeps its pipe ends and its copy of a stdin descriptor above 2, so these
   * never overwrite one another. */
  if (dup2(args->stdout_fd, 1) < 0 || dup2(args->stderr_fd, 2) < 0) goto fail;
  /* Everything else stays behind: the server's own descriptors are close-on-exec, but one it
   * inherited without that flag (a socket from its parent, say) is not the script's business. */
  syscall(SYS_close_range, 3, ~0U, 0);
  /* A fresh program starts with every signal at its default, and only then unblocked: until
   * here a signal would have run one of the server's handlers. With CLONE_CLEAR_SIGHAND the
   * kernel has already reset the handlers, and only the ignored signals are left. */
  if (args->handlers_cleared) {
    for (int sig = 1; sig <= 64; sig++) {
      if (ignored_signals & (1ULL << (sig - 1))) reset_signal(sig);
    }
  } else {
    for (int sig = 1; sig < _NSIG; sig++) {
      if (sig != SIGKILL && sig != SIGSTOP) reset_signal(sig);
    }
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

#if defined(__x86_64__)
/* clone3 (Linux 5.5 for CLONE_CLEAR_SIGHAND) with glibc's clone() calling convention: the
 * child starts on `stack` and runs fn(arg); returns the pid, or -errno. glibc has no clone3
 * wrapper that takes a function. */
static long clone3_function(struct clone_args *clone_args, int (*fn)(void *), void *arg) {
  long result;
  register void *function __asm__("r8") = (void *)fn;
  register void *argument __asm__("r9") = arg;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      /* the child, on its own stack: fn(arg), then exit with its result */
      "xor %%ebp, %%ebp\n\t"
      "mov %%r9, %%rdi\n\t"
      "call *%%r8\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(result)
      : "0"((long)SYS_clone3), "D"(clone_args), "S"(sizeof *clone_args), "r"(function), "r"(argument)
      : "rcx", "r11", "memory");
  return result;
}
#endif

static int probe_main(void *unused) {
  (void)unused;
  return 0;
}

int probe_cgroup_start(int cgroup_fd) {
#if defined(__x86_64__)
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  char stack[4096] __attribute__((aligned(16)));
  struct clone_args clone_args;
  memset(&clone_args, 0, sizeof clone_args);
  clone_args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
  clone_args.exit_signal = SIGCHLD;
  clone_args.stack = (uint64_t)(uintptr_t)stack;
  clone_args.stack_size = sizeof stack;
  clone_args.cgroup = (uint64_t)cgroup_fd;
  long pid = clone3_function(&clone_args, probe_main, NULL);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (pid < 0) {
    errno = (int)-pid;
    return -1;
  }
  int status = 0;
  while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
  return status;
#else
  (void)cgroup_fd;
  errno = ENOSYS;
  return -1;
#endif
}

int start_child(child_args_t *args, int *pidfd) {
  /* Every signal stays blocked while the child shares this thread's memory and handlers. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  char stack[CHILD_STACK] __attribute__((aligned(16)));
  args->error = 0;
  args->parent_pid = getpid();
  *pidfd = -1;
  int pid = -1, clone_error = 0;
#if defined(__x86_64__)
  static int clone3_works = 1;
  if (__atomic_load_n(&clone3_works, __ATOMIC_RELAXED)) {
    for (int with_cgroup = args->cgroup_fd >= 0; pid < 0; with_cgroup = 0) {
      struct clone_args clone_args;
      memset(&clone_args, 0, sizeof clone_args);
      clone_args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | (with_cgroup ? CLONE_INTO_CGROUP : 0);
      clone_args.pidfd = (uint64_t)(uintptr_t)pidfd;
      clone_args.exit_signal = SIGCHLD;
      clone_args.stack = (uint64_t)(uintptr_t)stack;
      clone_args.stack_size = sizeof stack;
      clone_args.cgroup = with_cgroup ? (uint64_t)args->cgroup_fd : 0;
      args->handlers_cleared = 1;
      args->subreaper = !with_cgroup;
      long result = clone3_function(&clone_args, child_main, args);
      if (result >= 0) {
        pid = (int)result;
        /* The cgroup was refused, and the start without it worked: none from now on. */
        if (!with_cgroup && args->cgroup_fd >= 0 && clone_error) cgroup_refused(clone_error);
        clone_error = 0;
      } else if (result == -ENOSYS || result == -E2BIG || (result == -EINVAL && !with_cgroup)) {
        /* No usable clone3 at all: clone() below, whatever a first try with the cgroup said. */
        __atomic_store_n(&clone3_works, 0, __ATOMIC_RELAXED);
        clone_error = 0;
        break;
      } else {
        clone_error = (int)-result;
        if (!with_cgroup) break;
      }
    }
  }
#endif
  if (pid < 0 && clone_error == 0) {
    /* CLONE_PIDFD (Linux 5.2) hands back the pidfd the launcher watches the exit with. */
    args->handlers_cleared = 0;
    args->subreaper = 1;
    if (args->cgroup_fd >= 0) cgroup_refused(ENOSYS);
    pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, args, pidfd);
    if (pid < 0) clone_error = errno;
  }
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
