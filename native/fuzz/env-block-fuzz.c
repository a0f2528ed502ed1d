/* libFuzzer target for split_environment: whatever bytes JavaScript hands over, every entry
 * lies inside the block, ends at its own NUL, follows the previous one, and none is lost. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../env-block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* As napi_get_value_string_utf8 leaves it: the bytes, then one NUL more. */
  char *block = malloc(size + 1);
  if (!block) return 0;
  memcpy(block, data, size);
  block[size] = '\0';
  char **envp = split_environment(block, size);
  if (!envp) {
    free(block);
    return 0;
  }
  size_t nuls = 0;
  for (size_t i = 0; i < size; i++) nuls += block[i] == '\0';
  size_t count = 0;
  const char *expected = block;
  for (; envp[count]; count++) {
    assert(envp[count] == expected);
    size_t entry = strlen(envp[count]);
    assert(envp[count] + entry < block + size);
    expected = envp[count] + entry + 1;
  }
  assert(count == nuls);
  free(envp);
  free(block);
  return 0;
}
