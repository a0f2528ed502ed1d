/* The environment block a run gets: "NAME=value" entries, each ended by a NUL. */
#ifndef TSGI_ENV_BLOCK_H
#define TSGI_ENV_BLOCK_H
#include <stddef.h>

/* A NULL-terminated array pointing at each NUL-ended entry of block[0..length), which must be
 * followed by one more NUL (block[length] == '\0'). Bytes after the last NUL are no entry.
 * NULL when out of memory; the array is the caller's to free, the strings stay block's. */
char **split_environment(char *block, size_t length);

#endif
