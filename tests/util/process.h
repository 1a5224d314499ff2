// Child processes for integration tests: start a binary with arguments,
// read its stdout line by line, signal it, and always reap it (and, should
// the test process die, the kernel kills it).
#ifndef PBCHAIN_TESTS_UTIL_PROCESS_H_
#define PBCHAIN_TESTS_UTIL_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pbchain::testing {

// Runs `cmd` with /bin/sh, stderr merged into stdout; returns the output and
// stores the exit code in *code (-1 if it did not exit normally).
inline std::string RunShellCommand(const std::string& cmd, int* code) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  if (pipe == nullptr) {
    *code = -1;
    return out;
  }
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) {
    out.append(buf.data(), n);
  }
  const int status = pclose(pipe);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class ChildProcess {
 public:
  // Starts `binary` with `args`; its stdout is readable with ReadLine, its
  // stderr goes to `stderr_path` (or is inherited when empty).
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               const std::string& stderr_path = "") {
    int out[2];
    if (pipe(out) != 0) return;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // If the test dies without its destructors (a crash, a signal), the
      // child is killed too rather than left running. The death signal
      // follows the forking thread: tests start children from their main
      // thread.
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(127);
      }
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      if (!stderr_path.empty()) {
        int err =
            open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (err >= 0) dup2(err, 2);
      }
      std::vector<char*> argv;
      std::vector<std::string> copy = args;
      std::string bin = binary;
      argv.push_back(bin.data());
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    fd_ = out[0];
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    Kill(SIGKILL);
    Wait();
    if (fd_ >= 0) close(fd_);
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The next line of stdout (without '\n'), or nullopt on EOF or timeout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || fd_ < 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, n);
    }
  }

  void Kill(int sig) {
    if (pid_ > 0 && !reaped_) kill(pid_, sig);
  }

  // Waits for the child to exit (up to `timeout`; then SIGKILLs it). Returns
  // the exit code, or 128 + signal number.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return -1;
    if (reaped_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(10'000);
    }
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
  int status_ = -1;
};

// A temporary directory removed with everything in it at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("pbchain_" + name + "_" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const {
    return (path_ / name).string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_UTIL_PROCESS_H_
