// The admin API's cookie (like bitcoind's): at every start pbnode writes a
// fresh random token to DATADIR/.cookie (mode 0600, atomically) and the
// address of its admin listener to DATADIR/.admin-address (0644); both are
// removed at a clean exit. Whoever can read the datadir's cookie may
// administer the node: admin calls carry the token as the metadata entry
// "authorization: Bearer TOKEN" (admin_server.h checks it).
//
// After a crash (kill -9) the files stay; the next start replaces them, so
// an old token never works against a new process.
#ifndef PBCHAIN_NODE_ADMIN_COOKIE_H_
#define PBCHAIN_NODE_ADMIN_COOKIE_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pbchain {

inline constexpr char kCookieFileName[] = ".cookie";
inline constexpr char kAdminAddressFileName[] = ".admin-address";
// Random bytes in a token; the file holds them as lowercase hex (64 chars).
inline constexpr size_t kCookieTokenBytes = 32;

// Writes `content` to `path` atomically: a temporary file in the same
// directory, created with `mode` (never wider, whatever the umask), synced,
// then renamed over `path`. INTERNAL naming the file on failure (the old
// file, if any, stays). Any thread.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view content, mode_t mode);

// Whether `presented` is `token`, comparing in time that does not depend
// on where they differ (CRYPTO_memcmp; a length mismatch answers at once:
// the length of a token is no secret).
bool TokenMatches(absl::string_view presented, absl::string_view token);

// A file this process wrote and removes when destroyed, unless it was
// replaced meanwhile by one with other content (another node started on
// the same datadir is refused by the store's lock before it gets here, so
// this is only a safety net).
class OwnedFile {
 public:
  // Writes `content` to `path` (WriteFileAtomically with `mode`).
  static absl::StatusOr<std::unique_ptr<OwnedFile>> Write(
      const std::string& path, std::string content, mode_t mode);
  ~OwnedFile();  // removes the file (errors are logged)
  OwnedFile(const OwnedFile&) = delete;
  OwnedFile& operator=(const OwnedFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& content() const { return content_; }

 private:
  OwnedFile(std::string path, std::string content)
      : path_(std::move(path)), content_(std::move(content)) {}
  const std::string path_;
  const std::string content_;
};

// A fresh random token (kCookieTokenBytes from OpenSSL's RAND_bytes, as
// lowercase hex). INTERNAL if the random generator fails.
absl::StatusOr<std::string> NewCookieToken();

// A fresh token written to DATADIR/.cookie (mode 0600); the token is the
// file's content (no newline). Removed when the returned file goes.
absl::StatusOr<std::unique_ptr<OwnedFile>> WriteCookieFile(
    const std::string& datadir);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_ADMIN_COOKIE_H_
