// Small filesystems for disk-trouble tests: a size-limited tmpfs (a disk
// that fills up) and a loop-mounted ext4 image that can be made to fail
// (ext4's `abort` mount option: every later write fails with an I/O error,
// as after a device error with errors=remount-ro). Both need root (mount);
// a test without that permission skips with a message. Unmounted (and the
// loop device released) in the destructor, also when the test fails.
#ifndef PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_
#define PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace pbchain::testing {

// A child process that undoes a mount if the test process dies without
// running its destructors (an abort inside the code under test): it waits
// for the test to end, and only if the test went away without saying it
// cleaned up, it unmounts (lazily), unlinks and removes directories. The
// child makes plain system calls only, safe after a fork of a process with
// threads.
class MountJanitor {
 public:
  MountJanitor(std::vector<std::string> unmount,
               std::vector<std::string> unlink, std::vector<std::string> rmdir)
      : unmount_(std::move(unmount)),
        unlink_(std::move(unlink)),
        rmdir_(std::move(rmdir)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      char byte = 0;
      ssize_t n;
      while ((n = ::read(fds[0], &byte, 1)) < 0 && errno == EINTR) {
      }
      if (n == 1) _exit(0);  // the test cleans up itself
      for (const std::string& p : unmount_) ::umount2(p.c_str(), MNT_DETACH);
      for (const std::string& p : unlink_) ::unlink(p.c_str());
      for (const std::string& p : rmdir_) ::rmdir(p.c_str());
      _exit(0);
    }
    ::close(fds[0]);
    fd_ = fds[1];
  }
  ~MountJanitor() {
    if (fd_ >= 0) {
      const char done = 'x';
      (void)!::write(fd_, &done, 1);
      ::close(fd_);
    }
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  MountJanitor(const MountJanitor&) = delete;
  MountJanitor& operator=(const MountJanitor&) = delete;

 private:
  const std::vector<std::string> unmount_, unlink_, rmdir_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

// Runs `command` with /bin/sh, output discarded; true if it exited with 0.
inline bool Shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// Writes zeros to `path` until its filesystem is full (the file is what
// fits); its size in bytes.
inline uint64_t FillFile(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string chunk(64 * 1024, '\0');
  uint64_t written = 0;
  while (out.write(chunk.data(), chunk.size())) {
    out.flush();
    if (!out) break;
    written += chunk.size();
  }
  return written;
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
    janitor_ = std::make_unique<MountJanitor>(std::vector<std::string>{path_},
                                              std::vector<std::string>{},
                                              std::vector<std::string>{path_});
  }
  ~TmpfsMount() {
    janitor_.reset();
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
  uint64_t Fill(const std::string& name) const { return FillFile(Sub(name)); }

 private:
  std::string path_;
  std::string reason_;
  bool mounted_ = false;
  std::unique_ptr<MountJanitor> janitor_;
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
    // (mount -o loop frees its loop device when unmounted.)
    janitor_ = std::make_unique<MountJanitor>(
        std::vector<std::string>{mount_point_},
        std::vector<std::string>{image_},
        std::vector<std::string>{mount_point_, dir_});
  }
  ~FailingExt4Mount() {
    janitor_.reset();
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
  uint64_t Fill(const std::string& name) const { return FillFile(Sub(name)); }

 private:
  std::string dir_, image_, mount_point_, reason_;
  bool mounted_ = false;
  std::unique_ptr<MountJanitor> janitor_;
};

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_STORAGE_MOUNT_UTIL_H_
