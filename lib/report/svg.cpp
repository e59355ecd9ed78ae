#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hq::report::svg {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
static size_t utf8_len(std::string_view s, size_t i) {
    const auto c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if (((unsigned char)s[i + k] >> 6) != 0x2) return 0;
    if (n == 2 && c < 0xC2) return 0;  // overlong
    return n;
}

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    for (size_t i = 0; i < s.size();) {
        const auto c = (unsigned char)s[i];
        size_t n = utf8_len(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
            continue;
        }
        if (n > 1) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if (c < 0x20 && c != '\n' && c != '\t') out += "\xEF\xBF\xBD";
                else if (c == 0x7F) out += "\xEF\xBF\xBD";
                else out += (char)c;
        }
        ++i;
    }
    return out;
}

std::string num(double v, int decimals) {
    if (!std::isfinite(v)) return "0";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 9), v);
    std::string s(buf);
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    return s;
}

double Scale::operator()(double v) const {
    if (std::isnan(v) || d1 == d0) return r0;
    double t = (std::clamp(v, std::min(d0, d1), std::max(d0, d1)) - d0) / (d1 - d0);
    return r0 + t * (r1 - r0);
}

static double nice_step(double lo, double hi, int count) {
    double span = hi - lo;
    if (!(span > 0) || !std::isfinite(span)) return 1;
    double raw = span / std::max(1, count);
    double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
    std::vector<double> t;
    if (!std::isfinite(lo) || !std::isfinite(hi)) return t;
    if (hi < lo) std::swap(lo, hi);
    if (hi == lo) return {lo};
    double step = nice_step(lo, hi, count);
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && t.size() < 50; v += step)
        t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    return t;
}

double nice_ceil(double v, double step) {
    if (!(step > 0) || !std::isfinite(v)) return v;
    return std::ceil(v / step - 1e-9) * step;
}

Canvas::Canvas(double width, double height, std::string_view title, std::string_view desc) : w_(width), h_(height) {
    head_ = "<title>" + escape(title) + "</title>";
    if (!desc.empty()) head_ += "<desc>" + escape(desc) + "</desc>";
}

static std::string tip(std::string_view tooltip) {
    return tooltip.empty() ? std::string() : "<title>" + escape(tooltip) + "</title>";
}

void Canvas::rect(double x, double y, double w, double h, std::string_view fill, std::string_view tooltip,
                  std::string_view extra) {
    if (w < 0) x += w, w = -w;
    if (h < 0) y += h, h = -h;
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
             "\" fill=\"" + escape(fill) + "\"";
    if (!extra.empty()) body_ += " " + std::string(extra);
    if (tooltip.empty()) body_ += "/>";
    else body_ += ">" + tip(tooltip) + "</rect>";
}

void Canvas::line(double x1, double y1, double x2, double y2, std::string_view stroke, double width,
                  std::string_view extra) {
    body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
             "\" stroke=\"" + escape(stroke) + "\" stroke-width=\"" + num(width) + "\"";
    if (!extra.empty()) body_ += " " + std::string(extra);
    body_ += "/>";
}

void Canvas::polyline(const std::vector<std::pair<double, double>>& pts, std::string_view stroke, double width) {
    if (pts.empty()) return;
    body_ += "<polyline fill=\"none\" stroke=\"" + escape(stroke) + "\" stroke-width=\"" + num(width) + "\" points=\"";
    for (size_t i = 0; i < pts.size(); ++i) body_ += (i ? " " : "") + num(pts[i].first) + "," + num(pts[i].second);
    body_ += "\"/>";
}

void Canvas::circle(double cx, double cy, double r, std::string_view fill, std::string_view tooltip) {
    body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" + escape(fill) + "\"";
    if (tooltip.empty()) body_ += "/>";
    else body_ += ">" + tip(tooltip) + "</circle>";
}

void Canvas::text(double x, double y, std::string_view s, std::string_view anchor, double size,
                  std::string_view extra) {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + escape(anchor) + "\" font-size=\"" +
             num(size) + "\"";
    if (!extra.empty()) body_ += " " + std::string(extra);
    body_ += ">" + escape(s) + "</text>";
}

std::string Canvas::str() const {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + num(w_) + "\" height=\"" + num(h_) +
           "\" viewBox=\"0 0 " + num(w_) + " " + num(h_) + "\" font-family=\"sans-serif\">" + head_ + body_ +
           "</svg>\n";
}

}  // namespace hq::report::svg
