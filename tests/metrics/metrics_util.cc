#include "tests/metrics/metrics_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pbchain::metricstest {

absl::StatusOr<HttpResponse> HttpGet(const std::string& host_port,
                                     const std::string& target,
                                     absl::Duration timeout) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad address ", host_port));
  }
  const std::string host = host_port.substr(0, colon);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a loopback IPv4 address: ", host_port));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  const absl::Time deadline = absl::Now() + timeout;
  auto fail = [&](const std::string& why) {
    close(fd);
    return absl::UnavailableError(absl::StrCat(host_port, ": ", why));
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail(absl::StrCat("connect: ", strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", host_port,
                   "\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return fail("send failed");
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[8192];
  while (true) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return fail("timed out reading the answer");
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) return fail("recv failed");
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    return absl::DataLossError("no end of headers in the answer");
  }
  HttpResponse response;
  response.headers = raw.substr(0, end);
  response.body = raw.substr(end + 4);
  std::vector<std::string> status_line = absl::StrSplit(
      response.headers.substr(0, response.headers.find("\r\n")), ' ');
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError("bad status line");
  }
  if (absl::StrContains(response.headers, "chunked")) {
    // Transfer-Encoding: chunked: hex size line, data, CRLF, ..., 0.
    std::string body;
    size_t pos = 0;
    while (true) {
      const size_t eol = response.body.find("\r\n", pos);
      if (eol == std::string::npos) return absl::DataLossError("bad chunk");
      const size_t size = std::strtoul(
          response.body.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (size == 0) break;
      body += response.body.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    response.body = std::move(body);
  }
  return response;
}

namespace {

bool ValidName(absl::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

double ParseValue(absl::string_view v, bool* ok) {
  *ok = true;
  if (v == "+Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (v == "NaN" || v == "Nan") return std::numeric_limits<double>::quiet_NaN();
  double d = 0;
  *ok = absl::SimpleAtod(v, &d);
  return d;
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParseExposition(const std::string& text) {
  std::vector<Sample> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, " (", why, "): ", line));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
      if (parts.size() >= 2 && (parts[1] == "HELP" || parts[1] == "TYPE")) {
        if (parts.size() < 3 || !ValidName(parts[2])) return bad("comment");
      }
      continue;
    }
    Sample s;
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    s.name = std::string(line.substr(0, pos));
    if (!ValidName(s.name)) return bad("name");
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const size_t eq = line.find('=', pos);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          return bad("label");
        }
        const std::string key(line.substr(pos, eq - pos));
        if (!ValidName(key)) return bad("label name");
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
        }
        if (i >= line.size()) return bad("unterminated label value");
        s.labels[key] = value;
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      if (pos >= line.size()) return bad("no '}'");
      ++pos;
    }
    if (pos >= line.size() || line[pos] != ' ') return bad("no value");
    std::vector<absl::string_view> rest =
        absl::StrSplit(line.substr(pos + 1), ' ', absl::SkipEmpty());
    if (rest.empty() || rest.size() > 2) return bad("value");
    bool ok = false;
    s.value = ParseValue(rest[0], &ok);
    if (!ok) return bad("value");
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> Find(const std::vector<Sample>& samples,
                           const std::string& name,
                           const std::map<std::string, std::string>& labels) {
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        all = false;
        break;
      }
    }
    if (all) return s.value;
  }
  return std::nullopt;
}

std::map<std::string, std::string> Types(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() == 2) out[parts[0]] = parts[1];
  }
  return out;
}

}  // namespace pbchain::metricstest
