#include "node/p2p/address_book.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace pbchain {

absl::Status CheckPeerAddress(const std::string& address) {
  return ParseHostPort(address).status();
}

namespace {

bool IsLoopbackHost(const std::string& address) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  return parsed.ok() &&
         (IsLoopbackIp(parsed->host) || parsed->host == "localhost");
}

}  // namespace

std::string ListenAddressFromHello(const std::string& claimed,
                                   const std::string& observed_ip) {
  if (claimed.empty()) return "";
  absl::StatusOr<std::string> resolved =
      ResolveClaimedAddress(claimed, observed_ip);
  if (!resolved.ok()) return "";
  if (IsLoopbackHost(*resolved) && !observed_ip.empty() &&
      !IsLoopbackIp(observed_ip)) {
    return "";
  }
  return *resolved;
}

std::string CanonicalIp(const std::string& ip, IpKind* kind) {
  IpKind ignored;
  if (kind == nullptr) kind = &ignored;
  *kind = IpKind::kNotAnIp;
  unsigned char bytes[16];
  char text[INET6_ADDRSTRLEN];
  int family = AF_INET;
  if (inet_pton(AF_INET, ip.c_str(), bytes) != 1) {
    if (inet_pton(AF_INET6, ip.c_str(), bytes) != 1) return "";
    family = AF_INET6;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0,    0,
                                                  0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kMapped, sizeof(kMapped)) == 0) {
      std::memmove(bytes, bytes + 12, 4);
      family = AF_INET;
    }
  }
  if (family == AF_INET) {
    const bool zero =
        bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0;
    *kind = bytes[0] == 127 ? IpKind::kLoopback
            : zero          ? IpKind::kUnspecified
                            : IpKind::kOther;
  } else {
    bool zero = true;
    for (int i = 0; i < 15; ++i) zero = zero && bytes[i] == 0;
    *kind = zero && bytes[15] == 1   ? IpKind::kLoopback
            : zero && bytes[15] == 0 ? IpKind::kUnspecified
                                     : IpKind::kOther;
  }
  if (inet_ntop(family, bytes, text, sizeof(text)) == nullptr) {
    *kind = IpKind::kNotAnIp;
    return "";
  }
  return text;
}

std::string CanonicalAddress(const std::string& address) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) return address;
  std::string ip = CanonicalIp(parsed->host);
  if (ip.empty()) return address;
  parsed->host = ip;
  return parsed->ToString();
}

bool IsSpreadableAddress(const std::string& address,
                         const std::string& source_ip) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok() || IsUnspecifiedIp(parsed->host)) return false;
  return source_ip.empty() || IsLoopbackIp(source_ip) ||
         !IsLoopbackHost(address);
}

bool IsHearsay(AddressSource source) {
  return source == AddressSource::kHello || source == AddressSource::kExchange;
}

bool AddressBook::Add(KnownAddress entry, absl::Time now) {
  const bool hearsay = IsHearsay(entry.source);
  auto it = entries_.find(entry.address);
  if (it != entries_.end()) {
    KnownAddress& known = it->second;
    // Hearsay (a peer's claims) never overrides what a handshake, the
    // tracker or the operator said about an address.
    if (!entry.node_id.empty() && (known.node_id.empty() || !hearsay)) {
      known.node_id = entry.node_id;
    }
    if (entry.role != v1::PEER_ROLE_UNSPECIFIED && !hearsay) {
      known.role = entry.role;
    }
    if (!hearsay) {
      // A trusted source vouches for the address.
      if (entry.source == AddressSource::kSeed || IsHearsay(known.source)) {
        known.source = entry.source;
      }
      known.verified = true;
      known.learned_from.clear();
    }
    known.height = std::max(known.height, entry.height);
    known.last_seen = now;
    return true;
  }
  entry.verified = !hearsay;
  if (entry.verified) {
    entry.learned_from.clear();
  } else if (!entry.learned_from.empty() &&
             UnverifiedFrom(entry.learned_from) >= kMaxUnverifiedPerSource) {
    return false;
  }
  if (entries_.size() >= kMaxKnownAddresses) EvictOne(!entry.verified);
  // Full of seeds, or (for hearsay) of verified addresses.
  if (entries_.size() >= kMaxKnownAddresses) return false;
  entry.last_seen = now;
  entries_.emplace(entry.address, std::move(entry));
  return true;
}

size_t AddressBook::UnverifiedFrom(const std::string& source) const {
  size_t n = 0;
  for (const auto& [address, e] : entries_) {
    n += !e.verified && e.learned_from == source ? 1 : 0;
  }
  return n;
}

void AddressBook::EvictOne(bool unverified_only) {
  // An unverified entry before a verified one; then the learned entry with
  // the most failures, oldest news among equals.
  auto worst = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.source == AddressSource::kSeed) continue;
    if (unverified_only && it->second.verified) continue;
    if (worst == entries_.end() ||
        std::make_tuple(!it->second.verified, it->second.failures,
                        worst->second.last_seen) >
            std::make_tuple(!worst->second.verified, worst->second.failures,
                            it->second.last_seen)) {
      worst = it;
    }
  }
  if (worst != entries_.end()) entries_.erase(worst);
}

void AddressBook::Remove(const std::string& address) {
  auto it = entries_.find(address);
  if (it != entries_.end() && it->second.source != AddressSource::kSeed) {
    entries_.erase(it);
  }
}

void AddressBook::OnDialStarted(const std::string& address, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end() || !IsHearsay(it->second.source)) return;
  dials_[address].last = now;
  if (!it->second.verified && !it->second.learned_from.empty()) {
    source_dials_[it->second.learned_from] = now;
  }
  TrimDialRecords(now);
}

void AddressBook::TrimDialRecords(absl::Time now) {
  if (dials_.size() > kMaxDialRecords) {
    absl::erase_if(dials_, [now](const auto& record) {
      return record.second.last + kMaxHearsayDialBackoff <= now;
    });
  }
  while (dials_.size() > kMaxDialRecords) {
    dials_.erase(std::min_element(dials_.begin(), dials_.end(),
                                  [](const auto& a, const auto& b) {
                                    return a.second.last < b.second.last;
                                  }));
  }
  if (source_dials_.size() > kMaxDialRecords) {
    absl::erase_if(source_dials_, [now](const auto& record) {
      return record.second + kSourceDialInterval <= now;
    });
  }
  while (source_dials_.size() > kMaxDialRecords) {
    source_dials_.erase(std::min_element(
        source_dials_.begin(), source_dials_.end(),
        [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
}

absl::Time AddressBook::NextHearsayDial(const std::string& address) const {
  auto it = dials_.find(address);
  if (it == dials_.end()) return absl::InfinitePast();
  return it->second.last +
         std::min(
             kMaxHearsayDialBackoff,
             kHearsayDialInterval * (1 << std::min(it->second.failures, 10)));
}

void AddressBook::OnDialFailed(const std::string& address, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  KnownAddress& e = it->second;
  if (!e.verified) {
    // Hearsay that did not hold: forget it, and wait longer before dialing
    // it again should a peer name it again.
    auto record = dials_.find(address);
    if (record != dials_.end()) ++record->second.failures;
    entries_.erase(it);
    return;
  }
  ++e.failures;
  if (e.source != AddressSource::kSeed && e.failures >= kMaxDialFailures) {
    entries_.erase(it);
    return;
  }
  e.next_attempt =
      now + std::min(kMaxDialBackoff,
                     absl::Seconds(1) * (1 << std::min(e.failures, 10)));
}

void AddressBook::OnConnected(const std::string& address,
                              const std::string& node_id, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  it->second.last_seen = now;
  it->second.verified = true;
  it->second.learned_from.clear();
  if (!node_id.empty()) it->second.node_id = node_id;
  auto record = dials_.find(address);
  if (record != dials_.end()) record->second.failures = 0;
}

bool AddressBook::IsVerified(const std::string& address) const {
  auto it = entries_.find(address);
  return it != entries_.end() && it->second.verified;
}

void AddressBook::OnSessionEnded(const std::string& address, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  it->second.failures = 0;
  it->second.next_attempt = now;
  it->second.last_seen = now;
}

std::vector<std::string> AddressBook::DialCandidates(
    absl::Time now, const absl::flat_hash_set<std::string>& skip) const {
  std::vector<const KnownAddress*> ready;
  for (const auto& [address, e] : entries_) {
    if (e.next_attempt > now || skip.contains(address) ||
        IsBanned(address, now)) {
      continue;
    }
    if (!e.node_id.empty() &&
        (skip.contains(e.node_id) || IsBanned(e.node_id, now))) {
      continue;
    }
    if (IsHearsay(e.source)) {
      if (NextHearsayDial(address) > now) continue;
      if (!e.verified && !e.learned_from.empty()) {
        auto last = source_dials_.find(e.learned_from);
        if (last != source_dials_.end() &&
            last->second + kSourceDialInterval > now) {
          continue;
        }
      }
    }
    ready.push_back(&e);
  }
  auto rank = [](const KnownAddress* e) {
    if (e->source == AddressSource::kSeed) return 0;
    if (!e->verified) return 4;
    // A role claimed by hearsay (peer exchange) earns no priority.
    if (e->source == AddressSource::kExchange) return 3;
    if (e->role == v1::PEER_ROLE_SEED) return 1;
    if (e->role == v1::PEER_ROLE_HEAD) return 2;
    return 3;
  };
  std::stable_sort(ready.begin(), ready.end(), [&](auto* a, auto* b) {
    return std::make_pair(rank(a), a->failures) <
           std::make_pair(rank(b), b->failures);
  });
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> sources;  // one unverified per source
  for (const KnownAddress* e : ready) {
    if (!e->verified && !e->learned_from.empty() &&
        !sources.insert(e->learned_from).second) {
      continue;
    }
    out.push_back(e->address);
  }
  return out;
}

std::vector<KnownAddress> AddressBook::List() const {
  std::vector<KnownAddress> out;
  for (const auto& [address, e] : entries_) out.push_back(e);
  return out;
}

void AddressBook::Ban(const std::string& key, absl::Time until,
                      const std::string& reason) {
  auto it = bans_.find(key);
  if (it != bans_.end()) {
    if (it->second.by_operator) {
      // The operator's reason stays; the ban lasts as long as either says.
      it->second.until = std::max(it->second.until, until);
    } else {
      it->second = BanRecord{until, reason, false};
    }
    return;
  }
  if (bans_.size() - operator_bans_ >= kMaxBans) {
    // Forget the misbehaviour ban that ends first (never an operator's).
    auto first = bans_.end();
    for (auto b = bans_.begin(); b != bans_.end(); ++b) {
      if (b->second.by_operator) continue;
      if (first == bans_.end() || b->second.until < first->second.until) {
        first = b;
      }
    }
    if (first != bans_.end()) EraseBan(first);
  }
  bans_[key] = BanRecord{until, reason, false};
}

absl::Status AddressBook::OperatorBan(const std::string& key, absl::Time until,
                                      const std::string& reason,
                                      absl::Time now) {
  auto it = bans_.find(key);
  if (it == bans_.end() || !it->second.by_operator) {
    if (operator_bans_ >= kMaxOperatorBans) {
      // Expired ones make room first.
      for (auto b = bans_.begin(); b != bans_.end();) {
        auto next = std::next(b);
        if (b->second.by_operator && b->second.until <= now) EraseBan(b);
        b = next;
      }
    }
    if (operator_bans_ >= kMaxOperatorBans) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the node holds ", kMaxOperatorBans,
          " operator bans, the most it keeps: lift one (UnbanPeer) first"));
    }
    ++operator_bans_;
  }
  bans_[key] = BanRecord{until, reason, true};
  return absl::OkStatus();
}

void AddressBook::EraseBan(
    absl::flat_hash_map<std::string, BanRecord>::iterator it) {
  if (it->second.by_operator) --operator_bans_;
  bans_.erase(it);
}

bool AddressBook::IsBanned(const std::string& key, absl::Time now) const {
  auto it = bans_.find(key);
  return it != bans_.end() && it->second.until > now;
}

void AddressBook::ExpireBans(absl::Time now) {
  for (auto b = bans_.begin(); b != bans_.end();) {
    auto next = std::next(b);
    if (b->second.until <= now) EraseBan(b);
    b = next;
  }
}

bool AddressBook::Unban(const std::string& key) {
  auto it = bans_.find(key);
  if (it == bans_.end()) return false;
  EraseBan(it);
  return true;
}

std::vector<BanEntry> AddressBook::Bans(absl::Time now) const {
  std::vector<BanEntry> out;
  for (const auto& [key, ban] : bans_) {
    if (ban.until > now) out.push_back({key, ban.reason, ban.until});
  }
  std::sort(out.begin(), out.end(),
            [](const BanEntry& a, const BanEntry& b) { return a.key < b.key; });
  return out;
}

size_t AddressBook::Forget(const std::string& address) {
  return entries_.erase(address);
}

size_t AddressBook::ForgetNode(const std::string& node_id) {
  return std::erase_if(entries_, [&node_id](const auto& entry) {
    return entry.second.node_id == node_id;
  });
}

void AddressBook::MakeDue(const std::string& address, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  it->second.failures = 0;
  it->second.next_attempt = std::min(it->second.next_attempt, now);
}

}  // namespace pbchain
