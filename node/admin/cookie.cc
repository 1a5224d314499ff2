#include "node/admin/cookie.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"

namespace pbchain {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crash
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create", tmp);
  // open() applies the umask: set the mode exactly (never wider than
  // asked, as the file was created with at most `mode`).
  bool ok = ::fchmod(fd, mode) == 0;
  size_t written = 0;
  while (ok && written < content.size()) {
    const ssize_t n =
        ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const absl::Status error = ok ? absl::OkStatus() : Errno("write", tmp);
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return error;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const absl::Status s = Errno("create", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

bool TokenMatches(absl::string_view presented, absl::string_view token) {
  if (presented.size() != token.size() || token.empty()) return false;
  return CRYPTO_memcmp(presented.data(), token.data(), token.size()) == 0;
}

absl::StatusOr<std::unique_ptr<OwnedFile>> OwnedFile::Write(
    const std::string& path, std::string content, mode_t mode) {
  if (absl::Status s = WriteFileAtomically(path, content, mode); !s.ok()) {
    return s;
  }
  return std::unique_ptr<OwnedFile>(new OwnedFile(path, std::move(content)));
}

OwnedFile::~OwnedFile() {
  std::ifstream in(path_, std::ios::binary);
  const std::string now((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  if (!in.is_open() || now != content_) return;  // gone, or not ours
  in.close();
  if (::unlink(path_.c_str()) != 0) {
    LOG(WARNING) << "cannot remove " << path_ << ": " << std::strerror(errno);
  }
}

absl::StatusOr<std::string> NewCookieToken() {
  unsigned char bytes[kCookieTokenBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("the random generator failed");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<std::unique_ptr<OwnedFile>> WriteCookieFile(
    const std::string& datadir) {
  absl::StatusOr<std::string> token = NewCookieToken();
  if (!token.ok()) return token.status();
  return OwnedFile::Write(
      (std::filesystem::path(datadir) / kCookieFileName).string(),
      *std::move(token), 0600);
}

}  // namespace pbchain
