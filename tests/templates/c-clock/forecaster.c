// The forecaster world: it imports golemsim-test:forecast/forecast, an interface golemsim cannot
// record or replay, so golemsim must refuse this component when it is deployed.
#include <stdint.h>

__attribute__((import_module("golemsim-test:forecast/forecast"), import_name("temperature"))) int32_t
temperature(void);

__attribute__((export_name("today"))) int32_t today(void) {
    return temperature();
}
