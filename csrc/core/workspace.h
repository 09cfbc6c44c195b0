// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <cstdint>

namespace convcore {

// Scratch memory reused across calls. Each thread owns one grow-only, 64-byte
// aligned buffer per slot; a buffer is mapped once and rewritten on every later
// call, because on the machines we target writing freshly mapped memory is
// about ten times slower than writing memory already in use.
enum class Scratch { pack_a, pack_b, pack_row, tile, plane, plane_grad, row, partial, weights, kCount };

void* scratch(Scratch slot, std::size_t bytes);

template <class T>
T* scratch_as(Scratch slot, int64_t count) {
  return static_cast<T*>(scratch(slot, static_cast<std::size_t>(count) * sizeof(T)));
}

// Bytes currently held by the calling thread's slots (for tests and explain).
std::size_t scratch_bytes_held();

}  // namespace convcore
