// hq::Error — the one exception type of hyquant: a message with context and the exit code it maps to.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hq {

enum class ErrorKind { BadInput = 2, Internal = 1, BudgetBroken = 3 };

class Error : public std::runtime_error {
public:
    explicit Error(std::string msg, ErrorKind kind = ErrorKind::BadInput)
        : std::runtime_error(std::move(msg)), kind_(kind) {}
    ErrorKind kind() const { return kind_; }
    int exit_code() const { return static_cast<int>(kind_); }

private:
    ErrorKind kind_;
};

namespace detail {
template <typename... Args>
std::string cat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
}  // namespace detail

}  // namespace hq

// Bad input (model, data, options): exit code 2.
#define HQ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) throw ::hq::Error(::hq::detail::cat(__VA_ARGS__), ::hq::ErrorKind::BadInput); \
    } while (0)
// Broken internal invariant: exit code 1.
#define HQ_ASSERT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw ::hq::Error(::hq::detail::cat("internal: ", __FILE__, ":", __LINE__, ": ", #cond, \
                                                " ", ##__VA_ARGS__),                               \
                              ::hq::ErrorKind::Internal);                                          \
    } while (0)
#define HQ_FAIL(...) throw ::hq::Error(::hq::detail::cat(__VA_ARGS__), ::hq::ErrorKind::BadInput)
