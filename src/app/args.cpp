// args.cpp: see args.h.
#include "app/args.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

// Values echoed in messages come from the user: keep a hostile megabyte argument
// from becoming a megabyte error line.
static std::string clip(const std::string& s) { return s.size() <= 48 ? s : s.substr(0, 48) + "..."; }

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgParser& ArgParser::option(const std::string& name, const std::string& metavar,
                             const std::string& help, const std::string& default_value,
                             bool required) {
    Opt o;
    o.name = name;
    o.metavar = metavar;
    o.help = help;
    o.default_value = default_value;
    o.required = required;
    opts_.push_back(o);
    if (!default_value.empty()) values_[name] = default_value;
    return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
    Opt o;
    o.name = name;
    o.help = help;
    o.is_flag = true;
    opts_.push_back(o);
    return *this;
}

ArgParser& ArgParser::example(const std::string& command_line, const std::string& what) {
    examples_.emplace_back(command_line, what);
    return *this;
}

static std::string& common_options_help() {
    static std::string text;
    return text;
}
void set_common_options_help(const std::string& text) { common_options_help() = text; }

const ArgParser::Opt* ArgParser::find(const std::string& name) const {
    for (const Opt& o : opts_)
        if (o.name == name) return &o;
    return nullptr;
}

std::string ArgParser::help() const {
    std::ostringstream os;
    os << "usage: " << command_;
    for (const Opt& o : opts_) {
        std::string part = "--" + o.name + (o.is_flag ? "" : " " + o.metavar);
        os << " " << (o.required ? part : "[" + part + "]");
    }
    os << "\n\n" << summary_ << "\n\noptions:\n";
    for (const Opt& o : opts_) {
        std::string left = "  --" + o.name + (o.is_flag ? "" : " " + o.metavar);
        if (left.size() < 26) left.append(26 - left.size(), ' ');
        else left += "\n" + std::string(26, ' ');
        os << left << o.help;
        if (o.required) os << " (required)";
        else if (!o.default_value.empty()) os << " (default: " << o.default_value << ")";
        os << "\n";
    }
    os << "  --help                  show this help and exit\n";
    os << common_options_help();
    if (!examples_.empty()) {
        os << "\nexamples:\n";
        for (const auto& e : examples_) {
            os << "  " << e.first << "\n";
            if (!e.second.empty()) os << "      " << e.second << "\n";
        }
    }
    return os.str();
}

bool ArgParser::parse(int argc, char** argv) {
    for (int i = 0; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(help().c_str(), stdout);
            return false;
        }
        if (a.rfind("--", 0) != 0)
            throw UsageError(command_ + ": unexpected argument '" + a + "' (options start with --; see --help)");
        std::string name = a.substr(2), value;
        bool inline_value = false;
        size_t eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        const Opt* o = find(name);
        if (!o) throw UsageError(command_ + ": unknown option --" + clip(name) + " (see --help)");
        if (o->is_flag) {
            if (inline_value) throw UsageError(command_ + ": --" + name + " takes no value");
            values_[name] = "1";
        } else {
            if (!inline_value) {
                if (i + 1 >= argc) throw UsageError(command_ + ": --" + name + " needs a value (" + o->metavar + ")");
                value = argv[++i];
            }
            values_[name] = value;
        }
        given_[name] = true;
    }
    for (const Opt& o : opts_)
        if (o.required && !given(o.name))
            throw UsageError(command_ + ": missing required option --" + o.name + " " + o.metavar);
    return true;
}

bool ArgParser::has(const std::string& name) const { return values_.count(name) > 0; }
std::vector<std::string> ArgParser::given_names() const {
    std::vector<std::string> names;
    for (const auto& kv : given_)
        if (kv.second) names.push_back(kv.first);
    return names;
}

bool ArgParser::given(const std::string& name) const { return given_.count(name) > 0; }
bool ArgParser::flag_set(const std::string& name) const { return has(name); }

std::string ArgParser::str(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError(command_ + ": missing option --" + name);
    return it->second;
}

long long ArgParser::integer(const std::string& name, long long lo, long long hi) const {
    std::string s = str(name);
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE)
        throw UsageError(command_ + ": --" + name + " expects an integer, got '" + clip(s) + "'");
    if (v < lo || v > hi)
        throw UsageError(command_ + ": --" + name + " must be in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], got " + clip(s));
    return v;
}

double ArgParser::number(const std::string& name, double lo, double hi) const {
    std::string s = str(name);
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || v != v)
        throw UsageError(command_ + ": --" + name + " expects a number, got '" + clip(s) + "'");
    if (v < lo || v > hi) {
        std::ostringstream os;
        os << command_ << ": --" << name << " must be in [" << lo << ", " << hi << "], got " << clip(s);
        throw UsageError(os.str());
    }
    return v;
}

std::vector<long long> parse_int_list(const std::string& text, const std::string& what) {
    std::vector<long long> out;
    std::string item;
    std::stringstream ss(text);
    while (std::getline(ss, item, ',')) {
        size_t a = item.find_first_not_of(" \t\n"), b = item.find_last_not_of(" \t\n");
        if (a == std::string::npos) {
            if (ss.eof()) break;  // trailing comma
            throw UsageError(what + ": empty item in list '" + clip(text) + "'");
        }
        item = item.substr(a, b - a + 1);
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(item.c_str(), &end, 10);
        if (*end != '\0' || errno == ERANGE)
            throw UsageError(what + ": '" + clip(item) + "' is not an integer");
        out.push_back(v);
    }
    if (out.empty()) throw UsageError(what + ": the list is empty");
    return out;
}

std::vector<long long> ArgParser::int_list(const std::string& name) const {
    return parse_int_list(str(name), command_ + ": --" + name);
}

std::vector<long long> ArgParser::int_list(const std::string& name, long long lo, long long hi) const {
    std::vector<long long> v = int_list(name);
    for (size_t i = 0; i < v.size(); i++)
        if (v[i] < lo || v[i] > hi)
            throw UsageError(command_ + ": --" + name + ": item " + std::to_string(i) + " is " + std::to_string(v[i]) +
                             ", expected a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
}

bool parse_byte_count(const std::string& text, uint64_t* out) {
    size_t i = 0;
    uint64_t v = 0;
    if (text.empty() || text[0] < '0' || text[0] > '9') return false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
        const uint64_t d = (uint64_t)(text[i] - '0');
        if (v > (~0ull - d) / 10) return false;
        v = v * 10 + d;
    }
    std::string unit = text.substr(i);
    for (char& c : unit) c = (char)std::toupper((unsigned char)c);
    int shift = 0;
    if (!unit.empty() && std::string("KMGT").find(unit[0]) != std::string::npos) {
        shift = 10 * (1 + (int)std::string("KMGT").find(unit[0]));
        unit = unit.substr(1);
        if (unit == "IB" || unit == "B") unit.clear();
    } else if (unit == "B") {
        unit.clear();
    }
    if (!unit.empty()) return false;
    if (shift && v > (~0ull >> shift)) return false;
    *out = v << shift;
    return true;
}

uint64_t ArgParser::bytes(const std::string& name, uint64_t lo, uint64_t hi) const {
    const std::string s = str(name);
    uint64_t v = 0;
    if (!parse_byte_count(s, &v))
        throw UsageError(command_ + ": --" + name + " expects a byte count such as 4G, 512M or 1000000, got '" + s + "'");
    if (v < lo || v > hi)
        throw UsageError(command_ + ": --" + name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                         "] bytes, got " + s);
    return v;
}

std::string ArgParser::choice(const std::string& name, const std::vector<std::string>& choices) const {
    std::string v = str(name);
    std::string all;
    for (const std::string& c : choices) {
        if (c == v) return v;
        all += (all.empty() ? "" : "|") + c;
    }
    throw UsageError(command_ + ": --" + name + " must be one of " + all + ", got '" + clip(v) + "'");
}

int run_program(const char* name, int argc, char** argv, int (*run)(int argc, char** argv)) {
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
        return 1;
    }
}
