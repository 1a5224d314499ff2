#include "client/wallet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/bytes.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pbchain::client {
namespace {

absl::Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::string> HexField(const nlohmann::json& j, const char* name,
                                     size_t bytes, bool required) {
  if (!j.contains(name)) {
    if (required) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: missing field \"", name, "\""));
    }
    return std::string();
  }
  if (!j[name].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wallet: field \"", name, "\" must be a string"));
  }
  std::string text = j[name].get<std::string>();
  absl::StatusOr<Bytes> raw = HexDecode(text);
  if (!raw.ok() || raw->size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wallet: field \"", name, "\" must be ", 2 * bytes, " hex chars"));
  }
  return std::string(raw->begin(), raw->end());
}

}  // namespace

std::string DefaultWalletPath() {
  const char* env = std::getenv(kWalletEnvVar);
  if (env != nullptr && *env != '\0') return env;
  return kDefaultWalletPath;
}

absl::StatusOr<Wallet> WalletFromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("wallet: not a JSON object");
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string seed, HexField(j, "seed", 32, true));
  PBCHAIN_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromSeed(AsBytes(seed)));
  PBCHAIN_ASSIGN_OR_RETURN(std::string pub,
                           HexField(j, "public_key", 32, false));
  if (!pub.empty() &&
      !std::equal(pub.begin(), pub.end(), key.public_key().begin(),
                  key.public_key().end(), [](char a, uint8_t b) {
                    return static_cast<uint8_t>(a) == b;
                  })) {
    return absl::InvalidArgumentError(
        "wallet: public_key does not match the seed (corrupt wallet file?)");
  }
  const Address address = AddressFromPublicKey(key.public_key());
  if (j.contains("address")) {
    if (!j["address"].is_string()) {
      return absl::InvalidArgumentError(
          "wallet: field \"address\" must be a string");
    }
    absl::StatusOr<Address> stored =
        Address::FromText(j["address"].get<std::string>());
    if (!stored.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: address: ", stored.status().message()));
    }
    if (*stored != address) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: address ", stored->ToText(),
                       " does not belong to the key (the key's address is ",
                       address.ToText(), ")"));
    }
  }
  return Wallet{std::move(key), address, ""};
}

std::string WalletToJson(const PrivateKey& key) {
  nlohmann::ordered_json j;
  j["seed"] = HexEncode(key.seed());
  j["public_key"] = HexEncode(key.public_key());
  j["address"] = AddressFromPublicKey(key.public_key()).ToText();
  return j.dump(2) + "\n";
}

absl::StatusOr<Wallet> LoadWallet(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
      return absl::NotFoundError(absl::StrCat(
          "wallet file ", path,
          " not found; create one with `pbcli keygen`, or pass --wallet FILE "
          "or set $",
          kWalletEnvVar));
    }
    return ErrnoStatus(err, absl::StrCat("cannot read wallet file ", path));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::InternalError(absl::StrCat("cannot read wallet file ", path));
  }
  absl::StatusOr<Wallet> w = WalletFromJson(buf.str());
  if (!w.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", w.status().message()));
  }
  w->path = path;
  return w;
}

absl::StatusOr<Wallet> SaveNewWallet(const std::string& path,
                                     const PrivateKey& key) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("wallet file ", path, " exists; not overwriting it"));
    }
    return ErrnoStatus(err, absl::StrCat("cannot create wallet file ", path));
  }
  fchmod(fd, 0600);  // in case the umask was stricter than needed: exact mode
  const std::string json = WalletToJson(key);
  size_t done = 0;
  while (done < json.size()) {
    ssize_t n = write(fd, json.data() + done, json.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      unlink(path.c_str());
      return ErrnoStatus(err, absl::StrCat("cannot write wallet file ", path));
    }
    done += static_cast<size_t>(n);
  }
  int rc = fsync(fd);
  int err = errno;
  if (close(fd) != 0 && rc == 0) {
    rc = -1;
    err = errno;
  }
  if (rc != 0) {
    unlink(path.c_str());
    return ErrnoStatus(err, absl::StrCat("cannot write wallet file ", path));
  }
  return Wallet{key, AddressFromPublicKey(key.public_key()), path};
}

absl::StatusOr<Wallet> CreateWallet(const std::string& path) {
  // Refuse early, before generating a key, so the message is the same.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("wallet file ", path, " exists; not overwriting it"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  return SaveNewWallet(path, key);
}

}  // namespace pbchain::client
