// safe_file.cpp: see safe_file.h.
#include "app/safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>

static std::string err_text(int err) { return std::strerror(err); }

static std::string dir_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

static std::string base_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// An output path must name a file: not empty, not ending in '/', and if something
// is already there it must be a regular file (replacing /dev/null or a FIFO by
// rename would replace the device node itself, not write to it).
static void check_output_name(const std::string& path) {
    if (path.empty()) throw std::runtime_error("output path is empty; expected a file name");
    if (path.back() == '/' || base_of(path) == "." || base_of(path) == "..")
        throw std::runtime_error(path + ": is a directory name; expected a file name");
    struct stat s;
    if (stat(path.c_str(), &s) == 0) {
        if (S_ISDIR(s.st_mode)) throw std::runtime_error(path + ": is a directory; expected a file name");
        if (!S_ISREG(s.st_mode))
            throw std::runtime_error(path + ": is not a regular file (a device, FIFO or socket); outputs are "
                                            "written by replacing a regular file");
    }
}

// PATH.tmp.<pid>.<16 random hex digits>: unique per writer, so two processes
// writing the same output never share a temporary file.
static std::string temp_name(const std::string& path) {
    static std::random_device rd;
    char buf[64];
    unsigned long long r = ((unsigned long long)rd() << 32) ^ rd();
    std::snprintf(buf, sizeof buf, ".tmp.%ld.%016llx", (long)getpid(), r);
    return path + buf;
}

// Opens a fresh temporary file next to `path`, exclusively and without following
// symlinks; sets *tmp to its name.
static int open_temp(const std::string& path, std::string* tmp) {
    for (int attempt = 0; attempt < 16; attempt++) {
        *tmp = temp_name(path);
        int fd = open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST) {
            int e = errno;
            throw std::runtime_error(path + ": cannot create a temporary file in " + dir_of(path) + " (" +
                                     err_text(e) + ")");
        }
    }
    throw std::runtime_error(path + ": cannot create a unique temporary file in " + dir_of(path));
}

static void fsync_dir(const std::string& dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // the rename happened; an unopenable directory cannot be synced
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        close(fd);
        throw std::runtime_error(dir + ": cannot fsync the directory after renaming (" + err_text(e) + ")");
    }
    close(fd);
}

// ---- AtomicWriter -------------------------------------------------------------------

AtomicWriter::AtomicWriter(const std::string& path) : path_(path) {
    check_output_name(path);
    fd_ = open_temp(path, &tmp_);
}

AtomicWriter::~AtomicWriter() {
    if (fd_ >= 0) close(fd_);
    if (!done_ && !tmp_.empty()) unlink(tmp_.c_str());
}

void AtomicWriter::fail(const std::string& what, int err) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    unlink(tmp_.c_str());
    done_ = true;
    throw std::runtime_error(path_ + ": " + what + " (" + err_text(err) + "); the old file, if any, is unchanged");
}

void AtomicWriter::write(const void* data, size_t n) {
    if (fd_ < 0) throw std::logic_error(path_ + ": AtomicWriter used after commit");
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t k = ::write(fd_, p, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0) {
            if (errno == EINTR) continue;
            fail("write failed", errno);
        }
        if (k == 0) fail("write failed", ENOSPC);
        p += k;
        n -= (size_t)k;
    }
}

void AtomicWriter::commit() {
    if (fd_ < 0) throw std::logic_error(path_ + ": AtomicWriter committed twice");
    if (fsync(fd_) != 0) fail("fsync failed", errno);
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) {
        fd_ = -1;
        int e = errno;
        unlink(tmp_.c_str());
        done_ = true;
        throw std::runtime_error(path_ + ": close failed (" + err_text(e) + ")");
    }
    if (rename(tmp_.c_str(), path_.c_str()) != 0) {
        int e = errno;
        unlink(tmp_.c_str());
        done_ = true;
        throw std::runtime_error(path_ + ": cannot move the new file into place (" + err_text(e) + ")");
    }
    done_ = true;
    fsync_dir(dir_of(path_));
}

void safe_write_file(const std::string& path, const std::string& bytes) {
    AtomicWriter w(path);
    w.write(bytes.data(), bytes.size());
    w.commit();
}

// ---- reading ---------------------------------------------------------------------------

std::string read_file_bounded(const std::string& path, uint64_t max_bytes) {
    if (path.empty()) throw std::runtime_error("input path is empty; expected a file name");
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below)
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == EISDIR) throw std::runtime_error(path + ": is a directory, not a file");
        throw std::runtime_error(path + ": cannot open for reading (" + err_text(e) + ")");
    }
    struct stat s;
    if (fstat(fd, &s) != 0) {
        int e = errno;
        close(fd);
        throw std::runtime_error(path + ": cannot stat (" + err_text(e) + ")");
    }
    if (S_ISDIR(s.st_mode)) {
        close(fd);
        throw std::runtime_error(path + ": is a directory, not a file");
    }
    if (!S_ISREG(s.st_mode)) {
        close(fd);
        throw std::runtime_error(path + ": is not a regular file (a device, FIFO or socket); expected a file");
    }
    const uint64_t size = (uint64_t)s.st_size;
    if (size > max_bytes) {
        close(fd);
        throw std::runtime_error(path + ": file is " + std::to_string(size) + " bytes, over the limit of " +
                                 std::to_string(max_bytes) + " bytes");
    }
    std::string bytes;
    try {
        bytes.resize((size_t)size);
    } catch (const std::bad_alloc&) {
        close(fd);
        throw std::runtime_error(path + ": not enough memory to read its " + std::to_string(size) + " bytes");
    }
    size_t got = 0;
    while (got < bytes.size()) {
        ssize_t k = read(fd, &bytes[got], bytes.size() - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            throw std::runtime_error(path + ": read error (" + err_text(e) + ")");
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    char extra;
    ssize_t more = got == bytes.size() ? read(fd, &extra, 1) : 0;
    close(fd);
    if (got != bytes.size() || more > 0)
        throw std::runtime_error(path + ": the file changed size while it was read");
    return bytes;
}

// ---- before long work -----------------------------------------------------------------

void check_writable(const std::string& path, const std::string& what) {
    const std::string label = what.empty() ? "" : what + " ";
    if (path.empty()) throw std::runtime_error(label + "is empty; expected a file name");
    try {
        check_output_name(path);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(label + e.what());
    }
    const std::string dir = dir_of(path);
    struct stat s;
    if (stat(dir.c_str(), &s) != 0 || !S_ISDIR(s.st_mode))
        throw std::runtime_error(label + path + ": directory " + dir + " does not exist");
    // The only reliable test (root, read-only mounts, ACLs): create the temporary
    // file the real save would create, then remove it.
    std::string tmp;
    int fd;
    try {
        fd = open_temp(path, &tmp);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(label + e.what());
    }
    close(fd);
    unlink(tmp.c_str());
}

static std::string canonical_name(const std::string& path) {
    char buf[PATH_MAX];
    std::string dir = dir_of(path);
    if (!realpath(dir.c_str(), buf)) return path;  // no such directory: compare as given
    return std::string(buf) + "/" + base_of(path);
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    const bool ea = stat(a.c_str(), &sa) == 0, eb = stat(b.c_str(), &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb) return false;  // writing the missing one cannot touch the existing one
    return canonical_name(a) == canonical_name(b);
}

void refuse_same_file(const std::string& in, const std::string& in_flag, const std::string& out,
                      const std::string& out_flag) {
    if (same_file(in, out))
        throw std::invalid_argument(out_flag + " " + out + " is the same file as " + in_flag + " " + in +
                                    "; writing it would destroy the input (choose another output)");
}
