// SPDX-License-Identifier: MIT
#include "core/workspace.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

namespace convcore {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

struct Slot {
  std::unique_ptr<void, FreeDeleter> data;
  std::size_t bytes = 0;
};

constexpr std::size_t kAlign = 64;

thread_local Slot slots[static_cast<int>(Scratch::kCount)];

}  // namespace

void* scratch(Scratch which, std::size_t bytes) {
  Slot& slot = slots[static_cast<int>(which)];
  if (bytes > slot.bytes) {
    // Grow by at least half again so a sequence of growing layers settles fast.
    std::size_t want = std::max(bytes, slot.bytes + slot.bytes / 2);
    want = (want + kAlign - 1) / kAlign * kAlign;
    slot.data.reset();
    void* p = std::aligned_alloc(kAlign, want);
    if (!p) throw std::bad_alloc();
    slot.data.reset(p);
    slot.bytes = want;
  }
  return slot.data.get();
}

std::size_t scratch_bytes_held() {
  std::size_t total = 0;
  for (const Slot& s : slots) total += s.bytes;
  return total;
}

}  // namespace convcore
