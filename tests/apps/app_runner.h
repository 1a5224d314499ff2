// Running the app binaries (pbshop, pbvote) from process tests: stdin from a
// string (a pipe for the interactive modes), stdout and stderr captured,
// exit code; killed after 120 s (a bound for a hung process, not a timing
// assertion).
#ifndef PBCHAIN_TESTS_APPS_APP_RUNNER_H_
#define PBCHAIN_TESTS_APPS_APP_RUNNER_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pbchain::apps::testing {

inline std::string AppBin(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
  std::string Show() const {
    return "exit " + std::to_string(code) + "\n--- stdout ---\n" + out +
           "--- stderr ---\n" + err;
  }
  nlohmann::json Json() const {
    nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n"
                                   << Show();
    return j;
  }
  // Number of times `needle` occurs in stdout.
  int Count(const std::string& needle) const {
    int n = 0;
    for (size_t pos = out.find(needle); pos != std::string::npos;
         pos = out.find(needle, pos + needle.size())) {
      ++n;
    }
    return n;
  }
};

// Runs `binary args...` in `dir` (its working directory) with `input` on
// stdin.
inline RunResult RunApp(const std::string& binary,
                        const std::vector<std::string>& args,
                        const std::string& dir, const std::string& input = "") {
  static int counter = 0;
  const std::string base = dir + "/run" + std::to_string(++counter);
  const std::string in_path = base + ".in", out_path = base + ".out",
                    err_path = base + ".err";
  {
    std::ofstream in(in_path);
    in << input;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<std::string> copy = args;
    std::string bin = binary;
    std::vector<char*> argv{bin.data()};
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  RunResult r;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (true) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << binary << " hung; killed";
      break;
    }
    usleep(10'000);
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadWholeFile(out_path);
  r.err = ReadWholeFile(err_path);
  return r;
}

}  // namespace pbchain::apps::testing

#endif  // PBCHAIN_TESTS_APPS_APP_RUNNER_H_
