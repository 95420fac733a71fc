# CMake toolchain file: tinyllm for aarch64 (arm64) Linux, built on an x86-64
# Debian 12 machine and run under qemu-user.
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   ctest --test-dir build-aarch64        # every test runs under qemu-aarch64
# Needs (scripts/install-deps.sh --cross installs them): gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user, and the libraries' arm64 -dev packages via
# Debian multiarch (dpkg --add-architecture arm64; apt-get install
# libpcre2-dev:arm64 libcjson-dev:arm64 ...), which put the arm64 headers and
# libraries in /usr/include/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu,
# where Debian's cross compiler looks.
#   TL_QEMU_CPU   the -cpu of qemu (default max: NEON, dotprod and i8mm kernels all run)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TL_CROSS_TRIPLET aarch64-linux-gnu)

find_program(CMAKE_C_COMPILER ${TL_CROSS_TRIPLET}-gcc REQUIRED)
find_program(CMAKE_AR ${TL_CROSS_TRIPLET}-ar)
find_program(CMAKE_RANLIB ${TL_CROSS_TRIPLET}-ranlib)

# Programs from the build machine, libraries and headers for the target only.
set(CMAKE_FIND_ROOT_PATH /usr/${TL_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_LIBRARY_ARCHITECTURE ${TL_CROSS_TRIPLET})

# pkg-config reads the arm64 .pc files only (multiarch: same prefix, so the
# paths it prints are right for the cross compiler).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${TL_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Test programs run under qemu-user. With the multiarch C library (libc6:arm64,
# which the -dev:arm64 packages bring) qemu runs the programs with the host's
# /lib/ld-linux-aarch64.so.1 and /lib/aarch64-linux-gnu, all from the same
# glibc build. Not with -L /usr/aarch64-linux-gnu: that loader (package
# libc6-arm64-cross) is another build of glibc than the multiarch libc.so.6
# it then loads, and they share private data: a threaded program spins
# forever in the loader's code (seen with 2.36-8cross1 and 2.36-9+deb12u14).
# Without libc6:arm64, the cross package's loader and libraries are used.
find_program(TL_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(EXISTS /lib/ld-linux-aarch64.so.1)
  set(TL_QEMU_SYSROOT_ARGS "")
else()
  set(TL_QEMU_SYSROOT_ARGS -L /usr/${TL_CROSS_TRIPLET})
endif()
if(NOT DEFINED TL_QEMU_CPU)
  set(TL_QEMU_CPU max)
  if(DEFINED ENV{TL_QEMU_CPU})
    set(TL_QEMU_CPU $ENV{TL_QEMU_CPU})
  endif()
endif()
set(TL_QEMU_CPU ${TL_QEMU_CPU} CACHE STRING "qemu-aarch64 -cpu for the tests")
if(TL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TL_QEMU_AARCH64} ${TL_QEMU_SYSROOT_ARGS} -cpu ${TL_QEMU_CPU})
endif()
