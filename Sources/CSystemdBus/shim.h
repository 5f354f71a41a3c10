// systemd's sd-bus for the eSCL announcement through Avahi's D-Bus API. Messages are built with
// the non-variadic sd_bus_message_* calls, so nothing here needs a wrapper.
#ifndef SB_CSYSTEMDBUS_SHIM_H
#define SB_CSYSTEMDBUS_SHIM_H
#include <systemd/sd-bus.h>
#endif
