// Helpers for code that runs between clone and exec in a child of a possibly
// multi-threaded process: fixed buffers, no allocation, no locks.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace berth::linux {

// A bounded string builder over a caller-owned buffer. Truncates silently.
class FixedText {
 public:
  FixedText(char* buf, size_t size) : buf_(buf), size_(size) { clear(); }
  void clear() {
    len_ = 0;
    if (size_) buf_[0] = '\0';
  }
  FixedText& Add(const char* s) {
    while (s && *s && len_ + 1 < size_) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  FixedText& Add(long value) {
    char digits[24];
    int n = 0;
    unsigned long v = value < 0 ? 0UL - static_cast<unsigned long>(value) : value;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v && n < 23);
    if (value < 0) digits[n++] = '-';
    while (n && len_ + 1 < size_) buf_[len_++] = digits[--n];
    buf_[len_] = '\0';
    return *this;
  }
  FixedText& Add(int value) { return Add(static_cast<long>(value)); }
  FixedText& Add(unsigned value) { return Add(static_cast<long>(value)); }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  bool full() const { return len_ + 1 >= size_; }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

// A path buffer with the same rules.
struct PathBuffer {
  char data[4096];
  FixedText text() { return FixedText(data, sizeof data); }
};

// write(2) all of `len` bytes; returns 0 or -errno.
inline int WriteFully(int fd, const void* data, size_t len) noexcept {
  const char* p = static_cast<const char*>(data);
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

// read(2) exactly `len` bytes; returns 0, -errno, or -EPIPE on early end of file.
inline int ReadFully(int fd, void* data, size_t len) noexcept {
  char* p = static_cast<char*>(data);
  while (len) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -EPIPE;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace berth::linux
