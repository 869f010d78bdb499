// args.h: the command-line parser every `fam` subcommand uses.
//
// Each subcommand declares its options (name, help, default, flag or value,
// required); `--help` prints a usage text generated from them. Any problem
// (unknown flag, missing value, non-number where a number is expected, a value
// out of range) throws UsageError with one line naming the flag; main() prints
// it on stderr as "fam CMD: error: ..." and exits with code 2. Numbers are parsed
// in 64 bits and range-checked before any narrowing, so 4294967296 is refused,
// never wrapped to 0.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ArgParser {
  public:
    // command: e.g. "fam mask"; summary: one paragraph printed under the usage line.
    ArgParser(std::string command, std::string summary);

    // A "--name VALUE" option. An empty default with required=false means "absent".
    ArgParser& option(const std::string& name, const std::string& metavar, const std::string& help,
                      const std::string& default_value = "", bool required = false);
    // A "--name" switch with no value.
    ArgParser& flag(const std::string& name, const std::string& help);
    // A line of the "examples:" block at the end of --help: a command as typed
    // and, optionally, what it does.
    ArgParser& example(const std::string& command_line, const std::string& what = "");

    // Returns false if --help was given (the help is then already printed).
    bool parse(int argc, char** argv);
    std::string help() const;
    const std::string& command() const { return command_; }  // e.g. "fam mask", for messages

    bool has(const std::string& name) const;      // given on the command line or defaulted
    bool given(const std::string& name) const;    // given on the command line
    std::vector<std::string> given_names() const; // every option given on the command line
    bool flag_set(const std::string& name) const;
    std::string str(const std::string& name) const;
    // Integer / float values, checked to be numbers and within [lo, hi].
    long long integer(const std::string& name, long long lo = -(1LL << 62),
                      long long hi = (1LL << 62)) const;
    double number(const std::string& name, double lo = -1e300, double hi = 1e300) const;
    // "3,1,4" -> {3, 1, 4}; with lo/hi every item is checked to lie in [lo, hi].
    std::vector<long long> int_list(const std::string& name) const;
    std::vector<long long> int_list(const std::string& name, long long lo, long long hi) const;
    // A byte count such as 4G, 512M, 64K or 1000000 (K/M/G/T = 2^10..2^40, an optional
    // trailing "B" or "iB"), checked to lie in [lo, hi].
    uint64_t bytes(const std::string& name, uint64_t lo = 1, uint64_t hi = ~0ull) const;
    // One of the listed choices, else UsageError naming them.
    std::string choice(const std::string& name, const std::vector<std::string>& choices) const;

  private:
    struct Opt {
        std::string name, metavar, help, default_value;
        bool is_flag = false, required = false;
    };
    std::string command_, summary_;
    std::vector<Opt> opts_;
    std::vector<std::pair<std::string, std::string>> examples_;
    std::map<std::string, std::string> values_;
    std::map<std::string, bool> given_;
    const Opt* find(const std::string& name) const;
};

// Options every `fam` command accepts (main() takes them out of argv before the
// command sees it, e.g. --max-memory); listed at the end of every --help.
void set_common_options_help(const std::string& text);

// "4G" -> 4294967296 etc. (see ArgParser::bytes); false if `text` is not a byte count
// or does not fit in 64 bits.
bool parse_byte_count(const std::string& text, uint64_t* out);

// Parse "3,1,4" style integer lists (whitespace and a trailing comma tolerated).
// `what` names the flag in the error message.
std::vector<long long> parse_int_list(const std::string& text, const std::string& what);

// main() of a small program (walkthroughs, tools): runs run(argc, argv) and turns
// what it throws into one line on stderr: a UsageError (bad flag) exits 2, any other
// error (a bad file, an impossible config) exits 1 with "name: what went wrong".
int run_program(const char* name, int argc, char** argv, int (*run)(int argc, char** argv));
