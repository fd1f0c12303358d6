// The fetcher world: it sends an HTTP request with wasi:http/outgoing-handler, which golemsim
// cannot record or replay, so golemsim must refuse this component when it is deployed.
// The canonical ABI by hand: resources are i32 handles; handle's result (a result with a large
// error variant) is written to a return area.
#include <stdint.h>
#include <stdlib.h>

__attribute__((import_module("wasi:http/types@0.2.12"), import_name("[constructor]fields"))) int32_t
new_fields(void);

__attribute__((import_module("wasi:http/types@0.2.12"), import_name("[constructor]outgoing-request"))) int32_t
new_outgoing_request(int32_t headers);

__attribute__((import_module("wasi:http/outgoing-handler@0.2.12"), import_name("handle"))) void
handle(int32_t request, int32_t has_options, int32_t options, void *result);

__attribute__((export_name("fetch"))) uint32_t fetch(void) {
    _Alignas(8) uint8_t result[64];
    handle(new_outgoing_request(new_fields()), 0, 0, result);
    return result[0] == 0;
}

// Lifting the error case's strings into this module's memory needs an allocator.
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size, size_t align,
                                                                 size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        return (void *)align;
    }
    void *moved = realloc(ptr, new_size);
    if (moved == NULL) {
        abort();
    }
    return moved;
}
