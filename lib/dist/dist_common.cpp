// The parts of hq::dist that are the same with and without MPI: shares, agreement on failures, the test hook.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dist/dist.h"
#include "dist/pack.h"
#include "dist/launcher.h"

namespace hq::dist {

int64_t env_int(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) return -1;
    char* end = nullptr;
    const long long x = std::strtoll(v, &end, 10);
    return end && *end == 0 ? (int64_t)x : -1;
}

int64_t launcher_size() {
    for (const char* n : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
        if (const int64_t s = env_int(n); s > 0) return s;
    // Inside srun (SLURM_PROCID set); a batch script alone also has SLURM_NTASKS but is one process.
    if (env_int("SLURM_PROCID") >= 0)
        for (const char* n : {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"})
            if (const int64_t s = env_int(n); s > 0) return s;
    return 1;
}

int64_t launcher_rank() {
    for (const char* n : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"})
        if (const int64_t r = env_int(n); r >= 0) return r;
    return 0;
}

std::pair<int64_t, int64_t> share(int64_t n, int r, int k) {
    HQ_ASSERT(k >= 1 && r >= 0 && r < k && n >= 0, "dist::share");
    const int64_t base = n / k, extra = n % k;
    const int64_t begin = r * base + std::min<int64_t>(r, extra);
    return {begin, begin + base + (r < extra ? 1 : 0)};
}

std::optional<Failure> agree(const std::optional<Failure>& mine) {
    if (size() == 1) return mine;
    Packer p;
    p.put<uint8_t>(mine ? 1 : 0);
    if (mine) {
        p.put<int32_t>(mine->exit_code);
        p.put_str(mine->message);
    }
    std::string verdict;
    const auto all = gather(p.bytes());
    if (is_root()) {
        Packer v;
        bool found = false;
        for (size_t r = 0; r < all.size() && !found; ++r) {
            Unpacker u(all[r]);
            if (!u.get<uint8_t>()) continue;
            found = true;
            v.put<uint8_t>(1);
            v.put<int32_t>((int32_t)r);
            v.put<int32_t>(u.get<int32_t>());
            v.put_str(u.get_str());
        }
        if (!found) v.put<uint8_t>(0);
        verdict = v.take();
    }
    verdict = broadcast(verdict);
    Unpacker u(verdict);
    if (!u.get<uint8_t>()) return std::nullopt;
    Failure f;
    f.rank = u.get<int32_t>();
    f.exit_code = u.get<int32_t>();
    f.message = u.get_str();
    return f;
}

void agree_or_throw(const std::optional<Failure>& mine) {
    const auto f = agree(mine);
    if (!f) return;
    const ErrorKind kind = f->exit_code == 2 ? ErrorKind::BadInput
                           : f->exit_code == 3 ? ErrorKind::BudgetBroken
                                               : ErrorKind::Internal;
    if (!is_root()) throw AgreedError("(reported by rank 0)", kind, true);
    throw AgreedError(size() > 1 ? "rank " + std::to_string(f->rank) + ": " + f->message : f->message, kind, false);
}

double ordered_sum(double mine) {
    if (size() == 1) return mine;
    Packer p;
    p.put<double>(mine);
    const auto all = gather(p.bytes());
    Packer total;
    if (is_root()) {
        double s = 0;
        for (const auto& b : all) s += Unpacker(b).get<double>();
        total.put<double>(s);
    }
    return Unpacker(broadcast(total.bytes())).get<double>();
}

void test_fault_point() {
    static const std::pair<int64_t, int64_t> when = [] {
        const char* v = std::getenv("HYQUANT_TEST_KILL_RANK");
        long long r = -1, n = -1;
        if (!v || std::sscanf(v, "%lld:%lld", &r, &n) != 2) return std::pair<int64_t, int64_t>(-1, -1);
        return std::pair<int64_t, int64_t>(r, n);
    }();
    static int64_t calls = 0;
    if (when.first == rank() && ++calls == when.second) ::kill(::getpid(), SIGKILL);
}

}  // namespace hq::dist
