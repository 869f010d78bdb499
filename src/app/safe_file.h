// safe_file.h: reading and writing whole files without losing anything
// (docs/robustness.md, "Nothing lost").
//
// Writing: safe_write_file / AtomicWriter put the bytes into a temporary file
// created next to the target with a unique name (PATH.tmp.<pid>.<random>, opened
// O_CREAT|O_EXCL|O_NOFOLLOW, so a planted symlink is never followed and a user's
// own PATH.tmp is never touched), check every write, fsync it, rename it over
// PATH and fsync the directory: after a crash or power loss PATH holds either the
// old file or the new one, never a mix. On any failure the temporary file is
// removed and an exception names PATH and what went wrong.
//
// Reading: read_file_bounded reads a regular file of at most `max_bytes`; a
// device (/dev/zero), a FIFO, a directory or a bigger file is refused before
// anything is read.
//
// Before long work: check_writable(path) (can PATH be created or replaced?) and
// refuse_same_file(input, output) (would the output overwrite an input?).
#pragma once

#include <cstdint>
#include <string>

// Writes `bytes` to `path` atomically (see above). Throws std::runtime_error
// "PATH: <what failed> (<strerror>)"; an empty path is refused as such.
void safe_write_file(const std::string& path, const std::string& bytes);

// The same, piece by piece, for outputs built incrementally:
//   AtomicWriter w(path); w.write(p, n); ...; w.commit();
// Without commit() (an exception, an early return) the destructor removes the
// temporary file and PATH stays as it was.
class AtomicWriter {
  public:
    explicit AtomicWriter(const std::string& path);  // creates the temporary file
    ~AtomicWriter();
    AtomicWriter(const AtomicWriter&) = delete;
    AtomicWriter& operator=(const AtomicWriter&) = delete;

    void write(const void* data, size_t n);  // every byte written or an exception
    void commit();                            // fsync, rename over PATH, fsync the directory
    const std::string& temp_path() const { return tmp_; }

  private:
    std::string path_, tmp_;
    int fd_ = -1;
    bool done_ = false;
    [[noreturn]] void fail(const std::string& what, int err);
};

// The default cap of read_file_bounded: 16 GiB, above any model this code can run.
constexpr uint64_t kMaxReadBytes = 16ull << 30;

// The whole of a regular file of at most max_bytes. Throws std::runtime_error
// "PATH: cannot open (...)", "PATH: is a directory, not a file", "PATH: is not a
// regular file (a device, FIFO or socket); expected a file", "PATH: file is N bytes,
// over the limit of M bytes", "PATH: read error (...)".
std::string read_file_bounded(const std::string& path, uint64_t max_bytes = kMaxReadBytes);

// Throws std::runtime_error unless `path` could be written now: not empty, its
// directory exists and is writable, and it is not a directory itself. `what` names
// the flag in the message, e.g. "--out".
void check_writable(const std::string& path, const std::string& what);

// True when a and b name the same file: the same device and inode if both exist,
// else the same canonical path (realpath of the directory + the file name), so
// "m.st", "./m.st" and a symlink to it are all the same file as "m.st".
bool same_file(const std::string& a, const std::string& b);

// Throws std::invalid_argument "--OUT_FLAG PATH is the same file as --IN_FLAG;
// writing it would destroy the input" when the output would overwrite the input.
void refuse_same_file(const std::string& in, const std::string& in_flag, const std::string& out,
                      const std::string& out_flag);
