// Processes of one job (MPI ranks): rank/size, exact reductions, broadcast and agreement on failures. The only
// includer of mpi.h (dist_mpi.cpp); built without MPI (dist_single.cpp) it is one rank and every call is a no-op.
// Every collective is called by all ranks in the same order, from the main thread only. Waits are bounded: a
// peer that died (or stopped answering) makes the call throw hq::Error (exit 1) instead of hanging, and marks the
// job broken, so that finish() ends every rank (MPI_Abort) rather than waiting for the dead one.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hq::dist {

// Starts MPI when a launcher started more than one process (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_SIZE or
// SLURM_NTASKS > 1); otherwise, and in a build without MPI, the job is this one process. Returns a note for the
// user, or "": a build without MPI launched as several processes says so (on the launcher's rank 0 only).
std::string init(int* argc, char*** argv);
// Ends the job with exit code rc: MPI_Finalize when every rank got here in step, MPI_Abort (all ranks end) when
// the job is broken or `agreed` is false on a multi-rank job (an error only this rank knows of). Returns rc.
int finish(int rc, bool agreed);

bool built_with_mpi();
int rank();  // 0 .. size()-1
int size();
inline bool is_root() { return rank() == 0; }

// This rank's share of n items, taken as contiguous blocks in index order: rank r gets [begin, end) with the
// first n % size ranks one item more. Concatenating the shares in rank order gives 0 .. n-1.
std::pair<int64_t, int64_t> share(int64_t n, int r, int k);
inline std::pair<int64_t, int64_t> my_share(int64_t n) { return share(n, rank(), size()); }

// Every rank's bytes on rank 0, in rank order (other ranks get an empty vector).
std::vector<std::string> gather(const std::string& mine);
// Rank 0's bytes on every rank.
std::string broadcast(const std::string& root_bytes);
// Exact reductions on every rank: integer sums, min, max (element-wise; same length on every rank).
void sum(std::vector<int64_t>& v);
void min(std::vector<double>& v);
void max(std::vector<double>& v);
// A sum of doubles equal, bit for bit, to one process adding the ranks' values in rank order: gathered to rank 0,
// added there in rank order, broadcast.
double ordered_sum(double mine);

// A failure of one rank, agreed by all: every rank calls agree() with its own (or nullopt); all get the failure
// of the lowest failing rank, or nullopt. One collective, so a rank that failed still takes part.
struct Failure {
    int rank = 0;
    int exit_code = 2;
    std::string message;
};
std::optional<Failure> agree(const std::optional<Failure>& mine);
// agree(), then throws the agreed failure on every rank: rank 0 as an hq::Error with the failing rank's
// message (prefixed "rank R: " on a multi-rank job), the others as a quiet one (exit code only, not logged).
void agree_or_throw(const std::optional<Failure>& mine);

// An error every rank knows of (thrown by agree_or_throw): rank 0 logs it; on the others it is quiet (exit code
// only). The job then ends in step (finish(rc, true)).
class AgreedError : public Error {
public:
    AgreedError(std::string msg, ErrorKind kind, bool quiet) : Error(std::move(msg), kind), quiet_(quiet) {}
    bool quiet() const { return quiet_; }

private:
    bool quiet_;
};

// Test hook (documented in README "MPI"): with HYQUANT_TEST_KILL_RANK=R:N in the environment, rank R sends itself
// SIGKILL on its N-th call (calibrate and evaluate call it once per sample): a rank dying mid-run.
void test_fault_point();

}  // namespace hq::dist
