#include "client/passphrase.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "openssl/crypto.h"

namespace pbchain::client {
namespace {

absl::Status BadFile(const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--passphrase-file ", path, ": ", why));
}

// The first line of `path` (at most kMaxPassphraseBytes).
absl::StatusOr<std::string> ReadPassphraseFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer forever; it is refused below like any other non-regular file.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return BadFile(path, absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return BadFile(path, "not a regular file");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string text;
  char buf[512];
  while (text.size() <= kMaxPassphraseBytes + 2) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return BadFile(path, absl::StrCat("cannot read: ", std::strerror(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  OPENSSL_cleanse(buf, sizeof(buf));
  const size_t nl = text.find('\n');
  std::string line = text.substr(0, nl);
  OPENSSL_cleanse(text.data(), text.size());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return BadFile(path, "empty first line: no passphrase");
  if (line.size() > kMaxPassphraseBytes) {
    return BadFile(path, absl::StrCat("the passphrase is longer than ",
                                      kMaxPassphraseBytes, " bytes"));
  }
  return line;
}

// The terminal modes to put back if a signal ends the program while echo
// is off (set only around the read below; main thread only).
volatile sig_atomic_t g_restore_fd = -1;
termios g_saved_modes;

// SIGINT/SIGTERM/SIGHUP/SIGQUIT during the prompt: echo back on, then the
// signal's default action. Only async-signal-safe calls.
void RestoreTerminalAndDie(int sig) {
  if (g_restore_fd >= 0) tcsetattr(g_restore_fd, TCSAFLUSH, &g_saved_modes);
  signal(sig, SIG_DFL);
  raise(sig);
}

constexpr int kPromptSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Prints `prompt` on the terminal and reads one line with echo off.
absl::StatusOr<std::string> AskTerminal(const std::string& prompt) {
  const int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the terminal to ask for the passphrase: ",
                     std::strerror(errno)));
  }
  (void)!write(fd, prompt.data(), prompt.size());
  termios saved;
  const bool have_modes = tcgetattr(fd, &saved) == 0;
  struct sigaction old_actions[std::size(kPromptSignals)];
  if (have_modes) {
    g_saved_modes = saved;
    g_restore_fd = fd;
    struct sigaction restore {};
    restore.sa_handler = RestoreTerminalAndDie;
    sigemptyset(&restore.sa_mask);
    for (size_t i = 0; i < std::size(kPromptSignals); ++i) {
      sigaction(kPromptSignals[i], &restore, &old_actions[i]);
    }
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  bool eof = false;
  while (true) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    if (c == '\n') break;
    if (line.size() <= kMaxPassphraseBytes) line.push_back(c);
  }
  if (have_modes) {
    tcsetattr(fd, TCSAFLUSH, &saved);
    g_restore_fd = -1;
    for (size_t i = 0; i < std::size(kPromptSignals); ++i) {
      sigaction(kPromptSignals[i], &old_actions[i], nullptr);
    }
  }
  close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (eof && line.empty()) {
    return absl::FailedPreconditionError("no passphrase entered");
  }
  if (line.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  if (line.size() > kMaxPassphraseBytes) {
    OPENSSL_cleanse(line.data(), line.size());
    return absl::InvalidArgumentError(absl::StrCat(
        "the passphrase is longer than ", kMaxPassphraseBytes, " bytes"));
  }
  return line;
}

}  // namespace

PassphraseSource FindPassphraseSource(const PassphraseOptions& options) {
  if (!options.file.empty()) return PassphraseSource::kFile;
  const char* env = std::getenv(kPassphraseEnvVar);
  if (env != nullptr && *env != '\0') return PassphraseSource::kEnv;
  if (isatty(STDIN_FILENO) == 1) return PassphraseSource::kTerminal;
  return PassphraseSource::kNone;
}

absl::StatusOr<std::string> GetPassphrase(const PassphraseOptions& options,
                                          const std::string& wallet_path,
                                          bool is_new) {
  switch (FindPassphraseSource(options)) {
    case PassphraseSource::kFile:
      return ReadPassphraseFile(options.file);
    case PassphraseSource::kEnv: {
      std::string value = std::getenv(kPassphraseEnvVar);
      if (value.size() > kMaxPassphraseBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("$", kPassphraseEnvVar, " is longer than ",
                         kMaxPassphraseBytes, " bytes"));
      }
      return value;
    }
    case PassphraseSource::kTerminal: {
      if (!is_new) {
        return AskTerminal(absl::StrCat("Passphrase of ", wallet_path, ": "));
      }
      absl::StatusOr<std::string> first =
          AskTerminal(absl::StrCat("New passphrase for ", wallet_path, ": "));
      if (!first.ok()) return first.status();
      absl::StatusOr<std::string> again =
          AskTerminal("Repeat the passphrase: ");
      if (!again.ok()) {
        OPENSSL_cleanse(first->data(), first->size());
        return again.status();
      }
      const bool same = *first == *again;
      OPENSSL_cleanse(again->data(), again->size());
      if (!same) {
        OPENSSL_cleanse(first->data(), first->size());
        return absl::InvalidArgumentError("the passphrases do not match");
      }
      return first;
    }
    case PassphraseSource::kNone:
      break;
  }
  return absl::FailedPreconditionError(
      absl::StrCat(is_new ? "no passphrase to encrypt wallet file "
                          : "no passphrase for encrypted wallet file ",
                   wallet_path, ": give --passphrase-file FILE or set $",
                   kPassphraseEnvVar, " (or run on a terminal to be asked)"));
}

PassphraseCallback PassphraseFor(const PassphraseOptions& options,
                                 const std::string& wallet_path) {
  return [options, wallet_path]() {
    return GetPassphrase(options, wallet_path, /*is_new=*/false);
  };
}

std::string UnencryptedWalletWarning(const std::string& path) {
  return absl::StrCat("warning: wallet file ", path,
                      " is not encrypted: anyone who can read it can spend "
                      "its coins; encrypt it with `pbcli wallet encrypt "
                      "--wallet ",
                      path, "`");
}

}  // namespace pbchain::client
