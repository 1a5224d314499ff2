#include "client/apps/records.h"

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "common/status_macros.h"

namespace pbchain::apps {

absl::StatusOr<std::vector<v1::RecordEntry>> ReadAllRecords(
    client::NodeClient& node, const std::string& ns,
    const std::optional<std::string>& key) {
  std::vector<v1::RecordEntry> out;
  std::string token;
  while (true) {
    absl::StatusOr<v1::GetRecordsResponse> resp =
        node.GetRecords(ns, key, kRecordPageSize, token);
    if (!resp.ok()) return resp.status();
    for (v1::RecordEntry& e : *resp->mutable_records()) {
      out.push_back(std::move(e));
    }
    if (resp->next_page_token().empty()) return out;
    if (resp->records_size() == 0) {
      return absl::UnknownError(
          absl::StrCat("the node sent an empty page of namespace ", ns,
                       " with a page token; stopped reading"));
    }
    if (out.size() > kMaxRecordsRead) {
      return absl::ResourceExhaustedError(
          absl::StrCat("namespace ", ns, " has more than ", kMaxRecordsRead,
                       " records; stopped reading"));
    }
    token = resp->next_page_token();
  }
}

absl::StatusOr<std::optional<v1::RecordEntry>> FindRecord(
    client::NodeClient& node, const std::string& ns, const std::string& key) {
  PBCHAIN_ASSIGN_OR_RETURN(v1::GetRecordsResponse resp,
                           node.GetRecords(ns, key, /*page_size=*/1));
  for (const v1::RecordEntry& e : resp.records()) {
    if (e.record().has_key() && e.record().key() == key) return e;
  }
  return std::nullopt;
}

bool IsOneLineText(std::string_view text) {
  if (!client::IsPrintableUtf8(text)) return false;
  for (char c : text) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
  }
  return true;
}

absl::Status CheckLabel(std::string_view text, std::string_view what,
                        size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " must be 1..", max_bytes,
                     " bytes, got ", text.size()));
  }
  if (!IsOneLineText(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what),
        " must be printable UTF-8 text without control characters"));
  }
  if (text.front() == ' ' || text.back() == ' ') {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " must not start or end with a space"));
  }
  return absl::OkStatus();
}

absl::Status CheckNamespacePart(std::string_view name, std::string_view what,
                                size_t max_len) {
  if (name.empty() || name.size() > max_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " must be 1..", max_len,
                     " chars of [a-z0-9._-], got '", std::string(name), "'"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), " must be 1..", max_len,
                       " chars of [a-z0-9._-], got '",
                       client::PayloadForDisplay(name), "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace pbchain::apps
