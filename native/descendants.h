/* Killing a script's descendants without a cgroup (descendants.c). */
#ifndef TSGI_DESCENDANTS_H
#define TSGI_DESCENDANTS_H

/* SIGKILL to `root`, its process group, and every process in its tree or its session. */
void kill_descendants(int root);

#endif
