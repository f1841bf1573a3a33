/*
 * A stand-in for the macOS SDK's <TargetConditionals.h>, used only by
 * tests/cross.sh to type-check the workspace for macOS from Linux.
 *
 * Why: ring's C code (include/ring-core/base.h) includes this header on
 * __APPLE__ to tell macOS from iOS. There is no macOS SDK on Linux, and
 * clippy needs ring's build script to compile its C code for the target
 * (nothing is linked), so clang gets `-nostdlibinc` (its own freestanding
 * headers only), `-DRING_CORE_NOSTDLIBINC=1` (ring's switch for that) and
 * this file. It defines only what ring reads, as the SDK does for macOS.
 * Never used for a binary anyone runs: macOS binaries are built on macOS.
 */
#ifndef SCALR_CROSS_TARGET_CONDITIONALS_H
#define SCALR_CROSS_TARGET_CONDITIONALS_H

#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_SIMULATOR 0

#endif
