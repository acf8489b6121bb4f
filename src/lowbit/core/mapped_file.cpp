// lowbit/core/mapped_file.cpp — mmap wrapper and small file helpers. defines: see mapped_file.hpp
#include "lowbit/core/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lowbit/core/error.hpp"

namespace lowbit {

void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) LB_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) LB_THROW(InputError, path, ": is a directory, expected a file");
  // A FIFO would block the reader forever, a device would be read without end.
  if (!S_ISREG(st.st_mode))
    LB_THROW(InputError, path, ": is not a regular file (",
             S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a socket",
             "); lowbit reads models, data and manifests from regular files only");
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  require_regular_file(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) LB_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    LB_THROW(IoError, path, ": cannot stat: ", std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    LB_THROW(InputError, path, ": is a directory, expected a file");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      LB_THROW(IoError, path, ": cannot mmap ", m->size_, " bytes: ", std::strerror(e));
    }
    m->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

std::string read_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream f(path, std::ios::binary);
  if (!f) LB_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

AtomicFileWriter::AtomicFileWriter(const std::string& path)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) LB_THROW(IoError, path, ": cannot create: ", std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::append(const void* data, size_t n) {
  LB_CHECK(fd_ >= 0, path_, ": append after commit");
  const char* p = static_cast<const char*>(data);
  size_t off = 0;
  while (off < n) {
    const ssize_t k = ::write(fd_, p + off, n - off);
    if (k < 0) {
      if (errno == EINTR) continue;
      LB_THROW(IoError, path_, ": write failed: ", std::strerror(errno));
    }
    off += size_t(k);
  }
}

void AtomicFileWriter::commit() {
  LB_CHECK(fd_ >= 0, path_, ": commit twice");
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp_.c_str());
    LB_THROW(IoError, path_, ": fsync failed: ", std::strerror(e));
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp_.c_str());
    LB_THROW(IoError, path_, ": close failed: ", std::strerror(e));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_.c_str());
    LB_THROW(IoError, path_, ": rename failed: ", std::strerror(e));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFileWriter f(path);
  f.append(bytes.data(), bytes.size());
  f.commit();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace lowbit
