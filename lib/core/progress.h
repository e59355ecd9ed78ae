// Progress for long work: a bar with rate and ETA when stderr is a terminal, plain lines otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace hq {

class Progress {
public:
    Progress(std::string label, int64_t total);
    ~Progress();
    void tick(int64_t n = 1);
    void finish();
    static void set_enabled(bool on);  // -q turns progress off

private:
    void draw(bool final);
    std::string label_;
    int64_t total_, done_ = 0;
    int last_pct_ = -1;
    bool tty_, finished_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace hq
