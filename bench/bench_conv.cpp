// SPDX-License-Identifier: MIT
// bench_conv: convcore's C++ benchmark.
//
//   1. FP32 peak of this machine: independent FMA chains (bench/peak/*.cpp, one
//      source per ISA with that ISA's flags), on 1 thread and on N threads of
//      convcore's own pool (parallel_for), for every ISA the CPU supports.
//   2. convcore::cpu::gemm: square 256..2048 and the conv-shaped GEMMs.
//   3. conv2d forward / backward-input / backward-weight through the
//      dispatcher (dispatch/dispatch.h), for every layer of layers.csv.
//
// Timing (as the project guide shared/guides/PERF.md): warm-up calls, one call to size a
// sample, then 10 samples (7 for passes >= 20 GFLOP) each averaging enough
// back-to-back calls to last >= 20 ms; the median is reported.
// FLOPs per conv pass = 2 * N * Cout * Hout * Wout * (Cin / groups) * Kh * Kw
// (padding MACs counted, as PERF.md); GEMM = 2 * M * N * K.
//
// Run `bench_conv --help` for the options.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/parallel.h"
#include "cpu/gemm/gemm.h"
#include "dispatch/dispatch.h"
#include "peak/peak.h"

#ifndef CONVCORE_BENCH_LAYERS_CSV
#define CONVCORE_BENCH_LAYERS_CSV "bench/layers.csv"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// ---------------------------------------------------------------- options

struct Options {
  int threads = 0;  // 0: convcore::get_num_threads()
  std::vector<int64_t> batches{1, 16};
  std::string only;
  std::string isa;
  std::string algo;
  std::string csv;
  std::string layers = CONVCORE_BENCH_LAYERS_CSV;
  bool quick = false;
  bool do_peak = true, do_gemm = true, do_conv = true;
  double peak_override = 0;  // GFLOP/s; skips the peak measurement
  double wait_idle = -1;     // seconds; < 0: default (30, quick 5)
  int retries = -1;          // < 0: default (2, quick 0)
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [options]\n"
      "  --threads N       threads for convcore (default: get_num_threads(), i.e. the cores\n"
      "                    or OMP_NUM_THREADS)\n"
      "  --batch LIST      batch sizes, comma separated (default 1,16)\n"
      "  --only SUBSTR     only conv layers / GEMM shapes whose name contains SUBSTR\n"
      "  --isa NAME        generic | avx2 | avx512 (convcore::set_isa; default: best detected)\n"
      "  --algo NAME       force a conv algorithm (im2col_gemm | gemm_1x1 | depthwise_direct)\n"
      "                    where it applies; layers it cannot run are skipped\n"
      "  --csv PATH        also write every row as CSV to PATH\n"
      "  --layers PATH     layer list (default %s)\n"
      "  --quick           1 warm-up, 3 samples of >= 10 ms (default: 3 warm-ups, 10 samples\n"
      "                    (7 for passes >= 20 GFLOP) of >= 20 ms)\n"
      "  --sections LIST   any of peak,gemm,conv (default all three)\n"
      "  --peak GFLOPS     use this peak for the fraction column instead of measuring it\n"
      "  --wait-idle SEC   before each layer / GEMM shape wait up to SEC for other processes to\n"
      "                    go idle (< 0.1 core); 0 disables (default 30, --quick 5)\n"
      "  --retries N       re-time a row up to N times when other processes used > 0.15 core\n"
      "                    (all cores in use) or > 0.5 core meanwhile (default 2, --quick 0)\n"
      "The 'other' column: cores used by other processes and steal time while a row ran.\n",
      argv0, CONVCORE_BENCH_LAYERS_CSV);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      std::exit(2);
    }
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(argv[0]);
      std::exit(0);
    } else if (a == "--threads") {
      o.threads = std::atoi(need(i).c_str());
    } else if (a == "--batch") {
      o.batches.clear();
      // Accept "1,16" and also "--batch 1 16".
      for (const auto& t : split(need(i), ',')) o.batches.push_back(std::atoll(t.c_str()));
      while (i + 1 < argc && argv[i + 1][0] != '-') o.batches.push_back(std::atoll(argv[++i]));
    } else if (a == "--only") {
      o.only = need(i);
    } else if (a == "--isa") {
      o.isa = need(i);
    } else if (a == "--algo") {
      o.algo = need(i);
    } else if (a == "--csv") {
      o.csv = need(i);
    } else if (a == "--layers") {
      o.layers = need(i);
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--wait-idle") {
      o.wait_idle = std::atof(need(i).c_str());
    } else if (a == "--retries") {
      o.retries = std::atoi(need(i).c_str());
    } else if (a == "--peak") {
      o.peak_override = std::atof(need(i).c_str());
    } else if (a == "--sections") {
      o.do_peak = o.do_gemm = o.do_conv = false;
      for (const auto& s : split(need(i), ',')) {
        if (s == "peak") o.do_peak = true;
        else if (s == "gemm") o.do_gemm = true;
        else if (s == "conv") o.do_conv = true;
        else {
          std::fprintf(stderr, "unknown section '%s'\n", s.c_str());
          std::exit(2);
        }
      }
    } else {
      std::fprintf(stderr, "unknown option '%s' (try --help)\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.wait_idle < 0) o.wait_idle = o.quick ? 5 : 30;
  if (o.retries < 0) o.retries = o.quick ? 0 : 2;
  for (int64_t b : o.batches)
    if (b < 1) {
      std::fprintf(stderr, "batch sizes must be >= 1\n");
      std::exit(2);
    }
  return o;
}

// ---------------------------------------------------------------- timing

struct Stats {
  double median = 0, min = 0, max = 0;  // seconds per call
  int inner = 0, samples = 0;
};

struct TimingPlan {
  int warmup;
  double min_sample_s;
  int samples_small, samples_large;  // passes below / from 20 GFLOP
  int samples_for(double gflop) const { return gflop >= 20 ? samples_large : samples_small; }
};

TimingPlan plan_for(bool quick) {
  return quick ? TimingPlan{1, 0.010, 3, 3} : TimingPlan{3, 0.020, 10, 7};
}

Stats time_fn(const std::function<void()>& fn, const TimingPlan& plan, int samples) {
  for (int i = 0; i < plan.warmup; ++i) fn();
  double t0 = now_s();
  fn();
  const double one = now_s() - t0;
  Stats st;
  st.inner = std::max(1, static_cast<int>(std::ceil(plan.min_sample_s / std::max(one, 1e-7))));
  st.samples = samples;
  std::vector<double> s;
  for (int r = 0; r < samples; ++r) {
    t0 = now_s();
    for (int i = 0; i < st.inner; ++i) fn();
    s.push_back((now_s() - t0) / st.inner);
  }
  std::sort(s.begin(), s.end());
  st.min = s.front();
  st.max = s.back();
  st.median = s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
  return st;
}

// ---------------------------------------------------------------- noise

// CPU used by everything but this process (other processes and hypervisor
// steal), in cores, over a region: /proc/stat minus our own rusage. NaN where
// /proc/stat is missing.
class LoadMonitor {
 public:
  LoadMonitor() : hz_(static_cast<double>(sysconf(_SC_CLK_TCK))) { ok_ = busy() >= 0; }
  void start() {
    b0_ = busy();
    s0_ = self_cpu();
    t0_ = now_s();
  }
  double stop() const {
    if (!ok_) return std::nan("");
    const double wall = now_s() - t0_;
    const double other = (busy() - b0_) - (self_cpu() - s0_);
    return std::max(0.0, other / std::max(wall, 1e-9));
  }
  // Waits up to max_s until the other load over 0.5 s is below `below` cores.
  void wait_idle(double max_s, double below = 0.1) {
    if (!ok_ || max_s <= 0) return;
    const double t0 = now_s();
    while (now_s() - t0 < max_s) {
      start();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      if (stop() < below) return;
    }
  }

 private:
  double busy() const {
    FILE* f = std::fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                                &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    std::fclose(f);
    if (got < 7) return -1;
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz_;  // user nice system irq softirq steal
  }
  static double self_cpu() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
  }
  double hz_;
  bool ok_ = false;
  double b0_ = 0, s0_ = 0, t0_ = 0;
};

LoadMonitor g_monitor;

double noisy_limit(int threads) {
  return threads >= static_cast<int>(std::thread::hardware_concurrency()) ? 0.15 : 0.5;
}

// time_fn, re-run while other processes were busy; keeps the cleanest attempt.
Stats time_clean(const std::function<void()>& fn, const TimingPlan& plan, int samples,
                 int retries, int threads, double* other_out) {
  Stats best;
  double best_other = INFINITY;
  for (int a = 0; a <= retries; ++a) {
    g_monitor.start();
    const Stats st = time_fn(fn, plan, samples);
    const double other = g_monitor.stop();
    if (a == 0 || other < best_other) best = st, best_other = other;
    if (!(other > noisy_limit(threads))) break;
  }
  *other_out = best_other;
  return best;
}

std::string noisy_flag(double other, int threads) {
  return other > noisy_limit(threads) ? "  NOISY" : "";
}

// ---------------------------------------------------------------- output

struct Output {
  FILE* csv = nullptr;
  ~Output() {
    if (csv) std::fclose(csv);
  }
};

Output g_out;

void csv_row(const std::string& line) {
  if (g_out.csv) {
    std::fprintf(g_out.csv, "%s\n", line.c_str());
    std::fflush(g_out.csv);
  }
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));

std::string pct(double gf, double peak) {
  char buf[32];
  if (peak > 0) std::snprintf(buf, sizeof buf, "%7.0f%%", 100 * gf / peak);
  else std::snprintf(buf, sizeof buf, "%8s", "-");
  return buf;
}
std::string fmt(const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// ---------------------------------------------------------------- data

// 64-byte aligned storage for std::vector, so runs do not depend on where
// malloc happens to put a buffer.
template <class T>
struct AlignedAlloc {
  using value_type = T;
  AlignedAlloc() = default;
  template <class U>
  AlignedAlloc(const AlignedAlloc<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const AlignedAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAlloc<U>&) const { return false; }
};
using Buffer = std::vector<float, AlignedAlloc<float>>;

void fill_random(Buffer& b, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& v : b) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64
    v = scale * (static_cast<float>(s >> 40) * (1.0f / 8388608.0f) - 1.0f);  // [-1, 1)
  }
}

convcore::TensorView view4(Buffer& b, const std::array<int64_t, 4>& sizes) {
  convcore::TensorView t;
  t.data = b.data();
  t.dtype = convcore::DType::f32;
  t.ndim = 4;
  t.sizes = sizes;
  t.strides = {sizes[1] * sizes[2] * sizes[3], sizes[2] * sizes[3], sizes[3], 1};
  return t;
}

int64_t numel(const std::array<int64_t, 4>& s) { return s[0] * s[1] * s[2] * s[3]; }

// ---------------------------------------------------------------- peak

struct PeakResult {
  std::string isa;
  int threads;
  double median, min, max;  // GFLOP/s, all threads together
};

// One timed run of `k` on `threads` pool threads (threads == 1: the caller).
double peak_once(const bench::PeakKernel& k, int threads, int64_t iters) {
  std::vector<float> sink(threads, 0.f);
  const double t0 = now_s();
  if (threads == 1) {
    sink[0] = k.run(iters, 1.0f);
  } else {
    convcore::parallel_for(threads, threads, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) sink[i] = k.run(iters, 1.0f + static_cast<float>(i));
    });
  }
  const double sec = now_s() - t0;
  volatile float keep = 0;
  for (float v : sink) keep = keep + v;
  (void)keep;
  return k.flops(iters) * threads / sec / 1e9;
}

PeakResult measure_peak(const bench::PeakKernel& k, int threads, bool quick) {
  // Size a run to ~60 ms on one thread.
  int64_t iters = 1 << 20;
  peak_once(k, 1, iters);
  const double t0 = now_s();
  k.run(iters, 1.0f);
  const double one = now_s() - t0;
  iters = std::max<int64_t>(iters, static_cast<int64_t>(iters * 0.06 / std::max(one, 1e-6)));
  const int samples = quick ? 5 : 9;
  std::vector<double> g;
  peak_once(k, threads, iters);  // wakes the pool, settles the clock
  for (int r = 0; r < samples; ++r) g.push_back(peak_once(k, threads, iters));
  std::sort(g.begin(), g.end());
  return {k.isa, threads, g[g.size() / 2], g.front(), g.back()};
}

// Core clock from a chain of dependent integer adds (one retires per cycle).
double core_clock_ghz() {
#if defined(__x86_64__)
  std::vector<double> c;
  for (int r = 0; r < 5; ++r) {
    const int64_t n = 200000000;
    int64_t x = 0;
    const double t0 = now_s();
    for (int64_t i = 0; i < n / 8; ++i)
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
    c.push_back(n / (now_s() - t0) / 1e9);
  }
  std::sort(c.begin(), c.end());
  return c[c.size() / 2];
#else
  return 0;
#endif
}

std::vector<bench::PeakKernel> supported_kernels() {
  std::vector<bench::PeakKernel> ks{bench::peak_kernel_generic()};
  const convcore::Isa best = convcore::detected_isa();
#if defined(BENCH_HAVE_AVX2)
  if (static_cast<int>(best) >= static_cast<int>(convcore::Isa::avx2))
    ks.push_back(bench::peak_kernel_avx2());
#endif
#if defined(BENCH_HAVE_AVX512)
  if (static_cast<int>(best) >= static_cast<int>(convcore::Isa::avx512))
    ks.push_back(bench::peak_kernel_avx512());
#endif
  (void)best;
  return ks;
}

// Returns the peak (GFLOP/s) of the active ISA at `threads`.
double run_peak(const Options& o, int threads) {
  std::printf("\n== FP32 peak (independent FMA chains; N threads via convcore::parallel_for) ==\n");
  const double ghz = core_clock_ghz();
  if (ghz > 0) std::printf("core clock (dependent integer add chain): %.2f GHz\n", ghz);
  std::printf("%-8s %-24s %7s %12s %12s %12s %14s %6s\n", "isa", "instruction", "threads",
              "GFLOP/s", "min", "max", "FLOP/cyc/core", "other");
  const char* active = convcore::isa_name(convcore::active_isa());
  double peak = 0;
  bool throttled = false;
  std::vector<int> tcounts{1};
  if (threads > 1) tcounts.push_back(threads);
  for (const auto& k : supported_kernels()) {
    for (int t : tcounts) {
      // Several rounds, a moment apart, keeping the fastest round median: the
      // peak is what the core can do, and on a shared host a round can be
      // throttled for seconds without any sign in /proc/stat (e.g. another
      // tenant on the sibling hardware thread shares the FMA pipes).
      g_monitor.wait_idle(o.wait_idle);
      PeakResult r;
      double other = INFINITY, prev = 0;
      const int rounds = o.quick ? 2 : 4;
      for (int a = 0; a < rounds; ++a) {
        if (a) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        g_monitor.start();
        const PeakResult ra = measure_peak(k, t, o.quick);
        const double oa = g_monitor.stop();
        if (a == 0 || ra.median > r.median) r = ra, other = oa;
        if (a && std::fabs(ra.median - prev) < 0.03 * std::max(ra.median, prev)) break;
        prev = ra.median;
      }
      const double per_cycle = ghz > 0 ? r.median / t / ghz : 0;
      std::printf("%-8s %-24s %7d %12.1f %12.1f %12.1f %14.1f %6.2f%s\n", r.isa.c_str(), k.insn,
                  t, r.median, r.min, r.max, per_cycle, other, noisy_flag(other, t).c_str());
      // FMA throughput per cycle is a power of two on every core we know of;
      // well below one means this measurement was throttled.
      if (k.isa != std::string("generic") && per_cycle > 0) {
        const double pow2 = std::exp2(std::ceil(std::log2(per_cycle / 1.1)));  // 10% slack for the clock estimate
        if (per_cycle < 0.85 * pow2) {
          std::printf("  ^ %.1f FLOP/cycle/core is well below %.0f: the core looks throttled or shared "
                      "right now; re-run, or pass --peak GFLOPS\n", per_cycle, pow2);
          throttled = true;
        }
      }
      std::fflush(stdout);
      csv_row(fmt("peak,%s,,%d,%s,peak,%s,,,,,%.2f,,%.3f", r.isa.c_str(), t, r.isa.c_str(),
                  k.insn, r.median, other));
      if (r.isa == active && t == threads) peak = r.median;
    }
  }
  if (throttled)
    std::printf("WARNING: the peak above looks throttled; fractions of peak below will read high\n");
  return peak;
}

// ---------------------------------------------------------------- gemm

void run_gemm(const Options& o, int threads, double peak) {
  struct Shape {
    int64_t m, k, n;
  };
  const Shape shapes[] = {{256, 256, 256},   {512, 512, 512},   {1024, 1024, 1024},
                          {2048, 2048, 2048}, {64, 576, 3136},   {256, 2304, 196},
                          {512, 4608, 49}};
  const TimingPlan plan = plan_for(o.quick);
  bool any = o.only.empty();
  for (const Shape& s : shapes)
    any = any || fmt("%lldx%lldx%lld", (long long)s.m, (long long)s.k, (long long)s.n).find(o.only) !=
                     std::string::npos;
  if (!any) {
    std::printf("\n(GEMM section skipped: --only '%s' matches no GEMM shape)\n", o.only.c_str());
    return;
  }
  std::printf("\n== convcore::cpu::gemm (row-major, C = A B, no transposes), %d thread(s), isa %s ==\n",
              threads, convcore::isa_name(convcore::active_isa()));
  std::printf("%-18s %10s %10s %10s %9s %8s %6s\n", "MxKxN", "GFLOP", "median ms", "GFLOP/s",
              "min-max", "of peak", "other");
  for (const Shape& s : shapes) {
    const std::string name = fmt("%lldx%lldx%lld", (long long)s.m, (long long)s.k, (long long)s.n);
    if (!o.only.empty() && name.find(o.only) == std::string::npos) continue;
    Buffer a(s.m * s.k), b(s.k * s.n), c(s.m * s.n, 0.f);
    fill_random(a, 1, 1.f);
    fill_random(b, 2, 1.f);
    const double gflop = 2.0 * s.m * s.n * s.k / 1e9;
    g_monitor.wait_idle(o.wait_idle);
    double other = 0;
    const Stats st = time_clean(
        [&] {
          convcore::cpu::gemm<float>(false, false, s.m, s.n, s.k, 1.f, a.data(), s.k, b.data(),
                                     s.n, 0.f, c.data(), s.n, threads);
        },
        plan, plan.samples_for(gflop), o.retries, threads, &other);
    const double gf = gflop / st.median;
    std::printf("%-18s %10.3f %10.3f %10.1f %4.0f-%-4.0f %s %6.2f%s\n", name.c_str(), gflop,
                st.median * 1e3, gf, gflop / st.max, gflop / st.min, pct(gf, peak).c_str(), other,
                noisy_flag(other, threads).c_str());
    std::fflush(stdout);
    csv_row(fmt("gemm,%s,,%d,%s,gemm,blis,%.4f,%.4f,%.4f,%.4f,%.2f,%.4f,%.3f", name.c_str(),
                threads, convcore::isa_name(convcore::active_isa()), gflop, st.median * 1e3,
                st.min * 1e3, st.max * 1e3, gf, peak > 0 ? gf / peak : 0, other));
  }
}

// ---------------------------------------------------------------- conv

struct Layer {
  std::string name;
  int64_t cin, h, w, cout, kh, kw, stride, pad, dilation, groups;
};

std::vector<Layer> read_layers(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open layer list '" + path + "' (use --layers PATH)");
  std::string line;
  std::getline(f, line);  // header
  const std::string want = "name,cin,h,w,cout,kh,kw,stride,pad,dilation,groups";
  if (line.rfind(want, 0) != 0)
    throw std::runtime_error(path + ": expected the header '" + want + "', got '" + line + "'");
  std::vector<Layer> layers;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto cols = split(line, ',');
    if (cols.size() != 11) throw std::runtime_error(path + ": bad line '" + line + "'");
    Layer l;
    l.name = cols[0];
    int64_t* dst[] = {&l.cin, &l.h, &l.w, &l.cout, &l.kh, &l.kw, &l.stride, &l.pad, &l.dilation, &l.groups};
    for (int i = 0; i < 10; ++i) *dst[i] = std::atoll(cols[i + 1].c_str());
    layers.push_back(l);
  }
  return layers;
}

void run_conv(const Options& o, int threads, double peak) {
  const std::vector<Layer> layers = read_layers(o.layers);
  const TimingPlan plan = plan_for(o.quick);
  std::optional<convcore::Algo> forced;
  if (!o.algo.empty()) forced = convcore::parse_algo(o.algo);
  std::printf("\n== conv2d through the dispatcher, NCHW float32, %d thread(s), isa %s, peak %.1f GFLOP/s ==\n",
              threads, convcore::isa_name(convcore::active_isa()), peak);
  std::printf("%-28s %4s %-15s %-17s %8s %10s %9s %8s %6s\n", "layer", "N", "pass", "algorithm",
              "GFLOP", "median ms", "GFLOP/s", "of peak", "other");
  for (const Layer& l : layers) {
    if (!o.only.empty() && l.name.find(o.only) == std::string::npos) continue;
    for (int64_t n : o.batches) {
      convcore::ConvParams p;
      p.stride = {l.stride, l.stride};
      p.dilation = {l.dilation, l.dilation};
      p.pad = {l.pad, l.pad, l.pad, l.pad};
      p.groups = l.groups;
      const std::array<int64_t, 4> xs{n, l.cin, l.h, l.w}, ws{l.cout, l.cin / l.groups, l.kh, l.kw};
      const convcore::ConvProblem prob =
          convcore::make_conv_problem(p, convcore::DType::f32, xs, ws, -1);
      const std::array<int64_t, 4> ys = convcore::output_shape_nchw(prob);
      Buffer x(numel(xs)), w(numel(ws)), y(numel(ys)), gy(numel(ys)), gx(numel(xs), 0.f),
          gw(numel(ws), 0.f);
      fill_random(x, 11, 1.f);
      fill_random(w, 12, 0.05f);
      fill_random(gy, 13, 1.f);
      std::fill(y.begin(), y.end(), 0.f);
      const auto xv = view4(x, xs), wv = view4(w, ws), yv = view4(y, ys), gyv = view4(gy, ys),
                 gxv = view4(gx, xs), gwv = view4(gw, ws);
      const double gflop = prob.flops() / 1e9;
      const int samples = plan.samples_for(gflop);
      g_monitor.wait_idle(o.wait_idle);

      for (convcore::ConvPass pass : {convcore::ConvPass::forward, convcore::ConvPass::backward_input,
                                      convcore::ConvPass::backward_weight}) {
        std::string algo;
        std::function<void()> fn;
        try {
          algo = convcore::algo_name(convcore::select_conv(prob, pass, forced).algo);
        } catch (const convcore::ArgumentError& e) {
          std::printf("%-28s %4lld %-15s skipped: %s\n", l.name.c_str(), (long long)n,
                      convcore::pass_name(pass), e.what());
          continue;
        }
        if (pass == convcore::ConvPass::forward) {
          fn = [&] {
            const convcore::Choice c = convcore::conv2d_forward(p, xv, wv, nullptr, yv, forced);
            (void)c;
          };
          algo = convcore::algo_name(convcore::conv2d_forward(p, xv, wv, nullptr, yv, forced).algo);
        } else if (pass == convcore::ConvPass::backward_input) {
          fn = [&] { convcore::conv2d_backward(p, gyv, xv, wv, &gxv, nullptr, nullptr, forced); };
        } else {
          fn = [&] { convcore::conv2d_backward(p, gyv, xv, wv, nullptr, &gwv, nullptr, forced); };
        }
        double other = 0;
        const Stats st = time_clean(fn, plan, samples, o.retries, threads, &other);
        const double gf = gflop / st.median;
        std::printf("%-28s %4lld %-15s %-17s %8.3f %10.3f %9.1f %s %6.2f%s\n", l.name.c_str(),
                    (long long)n, convcore::pass_name(pass), algo.c_str(), gflop, st.median * 1e3,
                    gf, pct(gf, peak).c_str(), other, noisy_flag(other, threads).c_str());
        std::fflush(stdout);
        csv_row(fmt("conv,%s,%lld,%d,%s,%s,%s,%.4f,%.4f,%.4f,%.4f,%.2f,%.4f,%.3f", l.name.c_str(),
                    (long long)n, threads, convcore::isa_name(convcore::active_isa()),
                    convcore::pass_name(pass), algo.c_str(), gflop, st.median * 1e3, st.min * 1e3,
                    st.max * 1e3, gf, peak > 0 ? gf / peak : 0, other));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  try {
    if (!o.isa.empty()) convcore::set_isa(convcore::parse_isa(o.isa.c_str()));
    if (o.threads > 0) convcore::set_num_threads(o.threads);
    const int threads = convcore::get_num_threads();
    if (!o.csv.empty()) {
      g_out.csv = std::fopen(o.csv.c_str(), "w");
      if (!g_out.csv) throw std::runtime_error("cannot write '" + o.csv + "'");
      csv_row("section,name,N,threads,isa,pass,algorithm,gflop,median_ms,min_ms,max_ms,gflops,"
              "frac_peak,other_load_cores");
    }
    std::printf("bench_conv: convcore core, detected isa %s, active isa %s, %d thread(s), "
                "hardware threads %u, %s timing\n",
                convcore::isa_name(convcore::detected_isa()), convcore::isa_name(convcore::active_isa()),
                threads, std::thread::hardware_concurrency(), o.quick ? "quick" : "full");
    double peak = o.peak_override;
    if (o.do_peak && peak <= 0) peak = run_peak(o, threads);
    if (peak > 0)
      std::printf("\nfraction-of-peak column uses %.1f GFLOP/s (%s, %d thread(s))\n", peak,
                  convcore::isa_name(convcore::active_isa()), threads);
    if (o.do_gemm) run_gemm(o, threads, peak);
    if (o.do_conv) run_conv(o, threads, peak);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_conv: %s\n", e.what());
    return 1;
  }
  return 0;
}
