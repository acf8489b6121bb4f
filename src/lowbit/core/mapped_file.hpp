// lowbit/core/mapped_file.hpp — read-only memory mapping of a checkpoint file.
// defines: lowbit::MappedFile, require_regular_file, read_file, write_file_atomic, AtomicFileWriter, file_exists, is_directory
//
// Weights are mapped, not copied: a tensor view points into the mapping, and only the pages a
// block touches are read. The mapping lives as long as any shared_ptr to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lowbit {

class MappedFile {
 public:
  // Throws IoError naming the path if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// InputError naming the path unless it is a regular file (a directory, FIFO, device or socket is
// refused before it is opened: a FIFO would block forever); IoError when it cannot be stat'ed.
void require_regular_file(const std::string& path);
// Read a whole (small) file into a string; throws IoError naming the path.
std::string read_file(const std::string& path);
// Write atomically: to PATH.tmp.<pid>, fsync, rename. A crash leaves the old file or none.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The streaming form of write_file_atomic: append pieces, then commit() (fsync, rename). Destroyed
// without commit() (an exception on the way), it removes the temporary file: nothing half-written.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void append(const void* data, size_t n);
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);

}  // namespace lowbit
