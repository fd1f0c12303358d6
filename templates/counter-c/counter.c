// The counter template in plain C: one signed 64-bit total per worker, kept in linear memory.
// With the canonical ABI an s64 parameter and an s64 result are a plain int64_t in and out,
// so the exports need no lifting or lowering code. Nothing crosses the boundary through memory,
// so there is no cabi_realloc (and no malloc linked in); no host calls and no WASI imports.
#include <stdint.h>

static int64_t total = 0;

__attribute__((export_name("increment"))) int64_t increment(int64_t by) {
    total += by;
    return total;
}

__attribute__((export_name("get"))) int64_t get(void) {
    return total;
}
