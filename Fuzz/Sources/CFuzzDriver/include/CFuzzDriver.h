// libFuzzer's driver entry (compiler-rt, LLVM 11+). SwiftPM renames an executable's `main` to
// `<target>_main`, so the fuzz target defines that and hands control to libFuzzer through this.
#ifndef SB_CFUZZDRIVER_H
#define SB_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
