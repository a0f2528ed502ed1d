/* Splitting the environment block: kept apart from N-API so the fuzzer can drive it alone. */
#include <stdlib.h>
#include <string.h>

#include "env-block.h"

char **split_environment(char *block, size_t length) {
  size_t count = 0;
  for (size_t i = 0; i < length; i++) count += block[i] == '\0';
  char **envp = calloc(count + 1, sizeof(char *));
  if (!envp) return NULL;
  size_t entry = 0;
  for (size_t start = 0; start < length && entry < count; entry++) {
    envp[entry] = block + start;
    start += strlen(block + start) + 1;
  }
  return envp;
}
