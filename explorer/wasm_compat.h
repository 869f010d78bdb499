// wasm_compat.h (explorer build only; mk/explorer.mk force-includes it into src/blas.cpp
// with -include): stand-ins for the x86 / glibc start-up code src/blas.cpp uses to pick
// an OpenBLAS kernel before main. The WebAssembly build has no OpenBLAS and no x86 CPU
// to ask (its products are the loops of explorer/cblas_wasm.cpp), so:
//   - every CPU feature reads as absent;
//   - the start-up hook is not placed in ".init_array": glibc passes argc/argv to the
//     functions there, wasm's linker refuses constructors with arguments. The macro
//     turns `section(".init_array")` into a harmless attribute, so the hook is an
//     ordinary unused pointer and never runs.
// The native build never sees this file.
#pragma once
#if defined(__EMSCRIPTEN__)
#define __builtin_cpu_init() ((void)0)
#define __builtin_cpu_supports(feature) 0
#define __builtin_cpu_is(cpu) 0
#define section(name) aligned(sizeof(void*))
#endif
