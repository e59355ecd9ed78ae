// Small helpers to draw inline SVG charts by hand for the self-contained HTML reports: text
// escaping, compact number formatting, a linear scale with "nice" ticks and a canvas that collects
// elements. No scripts: hover text uses SVG <title> children, which browsers show as tooltips.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace hq::report::svg {

// Escapes & < > " ' for HTML/XML text and attribute values; bytes that are not valid UTF-8 and
// control characters other than tab/newline are replaced so that the document stays well formed.
std::string escape(std::string_view s);

// A finite number with at most `decimals` decimals, trailing zeros removed ("12.5", "3", "-0.25").
// Non-finite values give "0" (coordinates must never read "nan" or "inf").
std::string num(double v, int decimals = 2);

// Maps [d0, d1] onto [r0, r1]; values outside the domain are clamped to it; NaN maps to r0.
struct Scale {
    double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
    double operator()(double v) const;
};

// About `count` round tick values (1, 2, 5 × 10^k steps) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count = 5);
// Rounds hi up (lo down) to the step of nice_ticks, for an axis domain.
double nice_ceil(double v, double step);

class Canvas {
public:
    // `title` becomes the chart's <title> (escaped); `desc` an optional <desc>.
    Canvas(double width, double height, std::string_view title, std::string_view desc = {});

    // `tooltip` (escaped) is added as a <title> child when not empty; `extra` is raw attributes.
    void rect(double x, double y, double w, double h, std::string_view fill, std::string_view tooltip = {},
              std::string_view extra = {});
    void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1,
              std::string_view extra = {});
    void polyline(const std::vector<std::pair<double, double>>& pts, std::string_view stroke, double width = 1.5);
    void circle(double cx, double cy, double r, std::string_view fill, std::string_view tooltip = {});
    // anchor: start | middle | end; `extra` is raw attributes (e.g. a transform).
    void text(double x, double y, std::string_view s, std::string_view anchor = "start", double size = 11,
              std::string_view extra = {});
    void raw(std::string_view markup) { body_ += markup; }

    std::string str() const;

private:
    double w_, h_;
    std::string head_, body_;
};

}  // namespace hq::report::svg
