#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace hq {

static bool g_progress_enabled = true;
void Progress::set_enabled(bool on) { g_progress_enabled = on; }

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()) {
    last_draw_ = start_;
}

Progress::~Progress() {
    if (!finished_ && done_ > 0 && done_ >= total_) finish();
}

void Progress::tick(int64_t n) {
    done_ += n;
    draw(false);
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    draw(true);
}

void Progress::draw(bool final) {
    if (!g_progress_enabled || total_ <= 0) return;
    auto now = std::chrono::steady_clock::now();
    double el = std::chrono::duration<double>(now - start_).count();
    double rate = el > 0 ? done_ / el : 0;
    double eta = rate > 0 ? (total_ - done_) / rate : 0;
    int pct = (int)(100 * done_ / total_);
    if (tty_) {
        if (!final && std::chrono::duration<double>(now - last_draw_).count() < 0.1 && done_ < total_) return;
        last_draw_ = now;
        int width = 30, fill = (int)(width * done_ / total_);
        std::string bar(fill, '#');
        bar += std::string(width - fill, '.');
        std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f/s ETA %.0fs ", label_.c_str(), bar.c_str(), (long long)done_,
                     (long long)total_, rate, eta);
        if (final) std::fprintf(stderr, "\n");
    } else {
        if (final ? pct == last_pct_ : pct / 10 == last_pct_ / 10) return;
        last_pct_ = pct;
        std::fprintf(stderr, "%s: %lld/%lld (%d%%) %.1f/s\n", label_.c_str(), (long long)done_, (long long)total_,
                     pct, rate);
    }
    std::fflush(stderr);
}

}  // namespace hq
