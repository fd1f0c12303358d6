// The clock-reader world in plain C: wasi-libc reads the clocks and randomness through
// preview1 (clock_time_get, random_get), which jco's adapter turns into wasi:clocks and
// wasi:random imports. Every value read is added to a running sum, the worker's state.
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t total = 0;
static uint64_t count = 0;

static uint64_t remember(uint64_t value) {
    total += value;
    count += 1;
    return value;
}

static uint64_t read_clock(clockid_t clock) {
    struct timespec now;
    if (clock_gettime(clock, &now) != 0) {
        abort();
    }
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

__attribute__((export_name("wall-ns"))) uint64_t wall_ns(void) {
    return remember(read_clock(CLOCK_REALTIME));
}

__attribute__((export_name("monotonic-ns"))) uint64_t monotonic_ns(void) {
    return remember(read_clock(CLOCK_MONOTONIC));
}

__attribute__((export_name("random-u64"))) uint64_t random_u64(void) {
    uint64_t value;
    if (getentropy(&value, sizeof value) != 0) {
        abort();
    }
    return remember(value);
}

__attribute__((export_name("sum"))) uint64_t sum(void) {
    return total;
}

__attribute__((export_name("reads"))) uint64_t reads(void) {
    return count;
}

// The preview1 adapter allocates its own stack through the main module's cabi_realloc when
// the module exports one (with an old wasi-libc, its memory.grow fallback could clash with malloc).
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size, size_t align,
                                                                 size_t new_size) {
    (void)old_size;
    (void)align;
    if (new_size == 0) {
        return (void *)align;
    }
    void *moved = realloc(ptr, new_size);
    if (moved == NULL) {
        abort();
    }
    return moved;
}
