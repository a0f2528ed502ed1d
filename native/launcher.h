/* What the launcher's C files share (values.c, table.c, events.c, launcher.c). */
#ifndef TSGI_LAUNCHER_H
#define TSGI_LAUNCHER_H

#include <node_api.h>
#include <stdint.h>
#include <uv.h>

#include "runs.h"

/* Kinds of event handed to JavaScript's dispatcher (see launcher.c). */
enum { EV_STDOUT, EV_STDOUT_END, EV_STDERR, EV_STDERR_END, EV_EXIT, EV_FAILED };

/* values.c */
void throw_errno(napi_env env, int code, const char *what);
void close_fd(int *fd);
int above_stdio(int fd);
int make_pipe(int ends[2]);
char *get_string(napi_env env, napi_value value);
int get_id(napi_env env, napi_value value, long long *id);
char **get_string_array(napi_env env, napi_value value, uint32_t *count);
void free_string_array(char **array);
int get_environment(napi_env env, napi_value value, child_args_t *child);
void free_child_args(child_args_t *child);

/* table.c */
run_t *find_run(instance_t *instance, double id);
int add_run(instance_t *instance, run_t *run);
void count_active(instance_t *instance, int change);
int state_of(run_t *run);
void stop_fd(run_t *run, int which);
void reap_zombie(run_t *run);
void free_run(run_t *run);
void maybe_free_run(run_t *run);
void kill_run(run_t *run);
/* Wakes an idle starter thread to sweep the cgroups of killed runs (starter.c). */
void wake_sweeper(instance_t *instance);

/* listen.c */
napi_value listen_unix(napi_env env, napi_callback_info info);
napi_value close_descriptor(napi_env env, napi_callback_info info);
napi_value duplicate_descriptor(napi_env env, napi_callback_info info);

/* events.c */
void on_ready(uv_poll_t *poll, int status, int events);

#endif
