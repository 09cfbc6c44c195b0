// SPDX-License-Identifier: MIT
#include "ops/adaptive_pool_params.h"

#include "core/error.h"

namespace convcore {

PoolReduce parse_pool_reduce(const std::string& mode, const std::string& op) {
  if (mode == "max") return PoolReduce::max;
  if (mode == "avg") return PoolReduce::avg;
  throw_argument_error(op, ": mode must be 'max' or 'avg', got '", mode, "'");
}

std::vector<Span> adaptive_spans(int64_t in, int64_t out) {
  std::vector<Span> spans(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) spans[i] = adaptive_span(i, in, out);
  return spans;
}

void check_pooled_size(int64_t size, const std::string& op, const char* name) {
  CC_CHECK_ARG(size > 0, op, ": ", name, " must be positive, got ", size);
}

int64_t pyramid_bins(const std::vector<int64_t>& levels, const std::string& op) {
  CC_CHECK_ARG(!levels.empty(), op, ": levels must not be empty");
  int64_t total = 0;
  for (int64_t l : levels) {
    CC_CHECK_ARG(l > 0 && l <= (int64_t{1} << 20), op,
                 ": levels must be positive (and at most 2^20), got ", l);
    total += l * l;
  }
  return total;
}

std::vector<int64_t> unpool_output_size(const UnpoolParams& p, int64_t h, int64_t w,
                                        const std::vector<int64_t>* requested,
                                        const std::string& op) {
  const char* axis[2] = {"height", "width"};
  const int64_t in[2] = {h, w};
  std::vector<int64_t> size(2);
  for (int a = 0; a < 2; ++a) {
    CC_CHECK_ARG(p.kernel[a] > 0, op, ": kernel_size must be positive, got ", p.kernel[a],
                 " (", axis[a], ")");
    CC_CHECK_ARG(p.stride[a] > 0, op, ": stride must be positive, got ", p.stride[a], " (",
                 axis[a], ")");
    CC_CHECK_ARG(p.padding[a] >= 0, op, ": padding must be non-negative, got ", p.padding[a],
                 " (", axis[a], ")");
    CC_CHECK_ARG(p.kernel[a] < (int64_t{1} << 40) && p.stride[a] < (int64_t{1} << 40) &&
                     p.padding[a] < (int64_t{1} << 40),
                 op, ": kernel_size, stride and padding must be below 2^40");
    const int64_t def = (in[a] - 1) * p.stride[a] - 2 * p.padding[a] + p.kernel[a];
    if (!requested) {
      CC_CHECK_ARG(def > 0, op, ": the default output ", axis[a], " (", in[a], " - 1) * ",
                   p.stride[a], " - 2 * ", p.padding[a], " + ", p.kernel[a], " = ", def,
                   " is not positive");
      size[a] = def;
      continue;
    }
    const int64_t want = (*requested)[a];
    CC_CHECK_ARG(def - p.stride[a] < want && want < def + p.stride[a] && want > 0, op,
                 ": output_size ", axis[a], " ", want, " is not valid for this input; it must lie "
                 "strictly between ", def - p.stride[a], " and ", def + p.stride[a],
                 " and be positive");
    size[a] = want;
  }
  return size;
}

}  // namespace convcore
