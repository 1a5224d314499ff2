// Small filesystems for disk-trouble tests: a size-limited tmpfs (a disk
// that fills up) and a loop-mounted ext4 image that can be made to fail
// (ext4's `abort` mount option: every later write fails with an I/O error,
// as after a device error with errors=remount-ro). Both need root (mount);
// a test without that permission skips with a message. Unmounted (and the
// loop device released) in the destructor, also when the test fails.
#ifndef PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_
#define PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace pbchain::testing {

// Runs `command` with /bin/sh, output discarded; true if it exited with 0.
inline bool Shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A directory under the temp dir with a tmpfs of `bytes` mounted on it.
// ok() false (and reason() why) if mounting is not permitted here.
class TmpfsMount {
 public:
  explicit TmpfsMount(uint64_t bytes) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "pbchain_tmpfs_XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      reason_ = "mkdtemp failed";
      return;
    }
    path_ = tmpl;
    const std::string options = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      reason_ = "mounting a tmpfs is not permitted here (needs root): " +
                std::string(std::strerror(errno));
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_ && ::umount(path_.c_str()) != 0) {
      ::umount2(path_.c_str(), MNT_DETACH);
    }
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& reason() const { return reason_; }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

  // Writes a file of zeros until the filesystem is full (the file is what
  // fits); its size in bytes.
  uint64_t Fill(const std::string& name) const {
    std::ofstream out(Sub(name), std::ios::binary | std::ios::trunc);
    const std::string chunk(64 * 1024, '\0');
    uint64_t written = 0;
    while (out.write(chunk.data(), chunk.size())) {
      out.flush();
      if (!out) break;
      written += chunk.size();
    }
    return written;
  }

 private:
  std::string path_;
  std::string reason_;
  bool mounted_ = false;
};

// An ext4 filesystem of `bytes` in an image file, loop-mounted on a
// directory under the temp dir. Fail() makes every later write to it fail
// with an I/O error (mount -o remount,abort).
class FailingExt4Mount {
 public:
  explicit FailingExt4Mount(uint64_t bytes) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "pbchain_ext4_XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      reason_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    image_ = dir_ + "/image";
    mount_point_ = dir_ + "/mnt";
    std::error_code ec;
    std::filesystem::create_directories(mount_point_, ec);
    if (!Shell("truncate -s " + std::to_string(bytes) + " " + image_) ||
        !Shell("mkfs.ext4 -q -F " + image_)) {
      reason_ = "cannot make an ext4 image (mkfs.ext4 missing?)";
      return;
    }
    if (!Shell("mount -o loop " + image_ + " " + mount_point_)) {
      reason_ =
          "loop-mounting an ext4 image is not permitted here (needs "
          "root and loop devices)";
      return;
    }
    mounted_ = true;
  }
  ~FailingExt4Mount() {
    if (mounted_ && !Shell("umount " + mount_point_)) {
      Shell("umount -l " + mount_point_);
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  FailingExt4Mount(const FailingExt4Mount&) = delete;
  FailingExt4Mount& operator=(const FailingExt4Mount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& reason() const { return reason_; }
  const std::string& path() const { return mount_point_; }
  std::string Sub(const std::string& name) const {
    return mount_point_ + "/" + name;
  }
  // From now on every write fails (EROFS / EIO), as on a failed device.
  bool Fail() const { return Shell("mount -o remount,abort " + mount_point_); }

 private:
  std::string dir_, image_, mount_point_, reason_;
  bool mounted_ = false;
};

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_
