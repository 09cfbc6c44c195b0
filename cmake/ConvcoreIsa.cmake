# SPDX-License-Identifier: MIT
# Compiles csrc/cpu/kernels/*.cpp once per instruction set, each copy in its own
# namespace (convcore::cpu::<isa>) and with its own flags, and links them into
# the core. The best copy is chosen at run time (csrc/core/cpu_features.cpp);
# nothing is ever built with -march=native.
file(GLOB CONVCORE_KERNEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../csrc/cpu/kernels/*.cpp)

function(convcore_add_isa target isa)
  set(lib convcore_kernels_${isa})
  add_library(${lib} OBJECT ${CONVCORE_KERNEL_SOURCES})
  target_include_directories(${lib} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/csrc)
  target_compile_definitions(${lib} PRIVATE CC_ISA=${isa} CC_ISA_${isa}=1)
  target_compile_options(${lib} PRIVATE -O3 ${ARGN})
  target_sources(${target} PRIVATE $<TARGET_OBJECTS:${lib}>)
  target_compile_definitions(${target} PRIVATE CONVCORE_HAVE_${isa}=1)
endfunction()

function(convcore_add_isa_kernels target)
  convcore_add_isa(${target} generic)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    convcore_add_isa(${target} avx2 -mavx2 -mfma)
    convcore_add_isa(${target} avx512 -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma)
  endif()
endfunction()
