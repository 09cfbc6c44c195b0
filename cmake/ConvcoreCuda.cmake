# SPDX-License-Identifier: MIT
# Included before enable_language(CUDA): the default architectures, which a
# user overrides with -DCMAKE_CUDA_ARCHITECTURES=... (never "native" by
# default: CI compiles without a GPU).
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  # 80: Ampere (A100): TF32/BF16 tensor cores, cp.async.
  # 90: Hopper (H100/H200).
  set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures to build for")
endif()
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

# csrc/cuda/ (kernels and the device runtime) join the core library; the
# static CUDA runtime lets `import convcore` work on machines with no driver.
function(convcore_add_cuda_sources target)
  file(GLOB sources CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/csrc/cuda/*.cu ${CMAKE_CURRENT_SOURCE_DIR}/csrc/cuda/*.cpp)
  target_sources(${target} PRIVATE ${sources})
  target_compile_definitions(${target} PUBLIC CONVCORE_WITH_CUDA=1)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-Wall>)
  target_link_libraries(${target} PUBLIC CUDA::cudart_static)
endfunction()
