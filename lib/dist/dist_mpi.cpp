// hq::dist on MPI: a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN; every collective is nonblocking and
// polled until done or until the deadline (HYQUANT_MPI_TIMEOUT seconds, default 60 s plus the time this process
// has run so far, so a healthy peer that is slower on its equal share is still waited for). A failed or timed-out
// wait marks the job broken: finish() then calls MPI_Abort, which ends every rank.
#include <mpi.h>

#include <chrono>
#include <climits>
#include <thread>

#include "dist/dist.h"
#include "dist/launcher.h"

namespace hq::dist {

namespace {

using Clock = std::chrono::steady_clock;
MPI_Comm g_comm = MPI_COMM_NULL;
int g_rank = 0, g_size = 1;
bool g_broken = false;
Clock::time_point g_start = Clock::now();

[[noreturn]] void fail(const std::string& what) {
    g_broken = true;
    throw Error("rank " + std::to_string(g_rank) + ": " + what, ErrorKind::Internal);
}

void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, s, &n);
    fail(std::string(call) + " failed: " + std::string(s, n) + " (did another rank die?)");
}

double timeout_s() {
    const int64_t t = env_int("HYQUANT_MPI_TIMEOUT");
    if (t > 0) return (double)t;
    return 60.0 + std::chrono::duration<double>(Clock::now() - g_start).count();
}

// Polls `req` until it completes; a failure or the deadline throws (and marks the job broken). Open MPI moves a
// large nonblocking collective forward only inside MPI_Test, a fragment or so per call on each side, so the naps
// stay short (at most 1 ms): with naps of 20 ms a 1.5 MB gather of calibration histograms took 1.5 s on two ranks
// of one machine; with 1 ms it takes milliseconds, at the cost of at most 1000 polls a second while a rank waits.
void wait(MPI_Request& req, const char* what) {
    const double limit = timeout_s();
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
    auto nap = std::chrono::microseconds(50);
    for (;;) {
        int done = 0;
        check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
        if (done) return;
        if (Clock::now() > deadline)
            fail(std::string("no answer from the other ranks in ") + what + " within " + std::to_string((int)limit) +
                 " s (a rank died or hangs; HYQUANT_MPI_TIMEOUT sets the limit): ending the job");
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::microseconds(1000));
    }
}

int count_of(size_t n) {
    if (n > (size_t)INT_MAX) fail("message of " + std::to_string(n) + " bytes is over MPI's 2 GiB limit");
    return (int)n;
}

}  // namespace

std::string init(int* argc, char*** argv) {
    g_start = Clock::now();
    if (launcher_size() <= 1) return "";
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        throw Error("MPI_Init failed", ErrorKind::Internal);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_dup(MPI_COMM_WORLD, &g_comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    return "";
}

int finish(int rc, bool agreed) {
    if (g_comm == MPI_COMM_NULL) return rc;
    if (g_broken || (!agreed && g_size > 1)) MPI_Abort(MPI_COMM_WORLD, rc ? rc : 1);
    MPI_Comm_free(&g_comm);
    MPI_Finalize();
    return rc;
}

bool built_with_mpi() { return true; }
int rank() { return g_rank; }
int size() { return g_size; }

std::vector<std::string> gather(const std::string& mine) {
    if (g_size == 1) return {mine};
    uint64_t n = mine.size();
    std::vector<uint64_t> sizes(is_root() ? g_size : 0);
    MPI_Request req;
    check(MPI_Igather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, 0, g_comm, &req), "MPI_Igather");
    wait(req, "a gather");
    std::vector<int> counts, displs;
    std::string all;
    if (is_root()) {
        size_t total = 0;
        for (uint64_t s : sizes) {
            counts.push_back(count_of(s));
            displs.push_back(count_of(total));
            total += s;
        }
        count_of(total);
        all.resize(total);
    }
    check(MPI_Igatherv(mine.data(), count_of(mine.size()), MPI_BYTE, all.data(), counts.data(), displs.data(),
                       MPI_BYTE, 0, g_comm, &req),
          "MPI_Igatherv");
    wait(req, "a gather");
    std::vector<std::string> out;
    for (size_t r = 0; r < counts.size(); ++r) out.push_back(all.substr(displs[r], counts[r]));
    return out;
}

std::string broadcast(const std::string& root_bytes) {
    if (g_size == 1) return root_bytes;
    uint64_t n = root_bytes.size();
    MPI_Request req;
    check(MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, g_comm, &req), "MPI_Ibcast");
    wait(req, "a broadcast");
    std::string out = is_root() ? root_bytes : std::string(n, '\0');
    check(MPI_Ibcast(out.data(), count_of(n), MPI_BYTE, 0, g_comm, &req), "MPI_Ibcast");
    wait(req, "a broadcast");
    return out;
}

namespace {
template <typename T>
void allreduce(std::vector<T>& v, MPI_Datatype type, MPI_Op op, const char* what) {
    if (g_size == 1) return;
    MPI_Request req;
    check(MPI_Iallreduce(MPI_IN_PLACE, v.data(), count_of(v.size()), type, op, g_comm, &req), "MPI_Iallreduce");
    wait(req, what);
}
}  // namespace

// Integer sums and min/max are exact in any order, so MPI's own reduction order does not matter.
void sum(std::vector<int64_t>& v) { allreduce(v, MPI_INT64_T, MPI_SUM, "a sum"); }
void min(std::vector<double>& v) { allreduce(v, MPI_DOUBLE, MPI_MIN, "a min"); }
void max(std::vector<double>& v) { allreduce(v, MPI_DOUBLE, MPI_MAX, "a max"); }

}  // namespace hq::dist
