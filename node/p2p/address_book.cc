#include "node/p2p/address_book.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace pbchain {

absl::Status CheckPeerAddress(const std::string& address) {
  return ParseHostPort(address).status();
}

void AddressBook::Add(KnownAddress entry, absl::Time now) {
  auto it = entries_.find(entry.address);
  if (it != entries_.end()) {
    KnownAddress& known = it->second;
    // Hearsay (peer exchange) never overrides what a handshake, the tracker
    // or the operator said about an address.
    const bool hearsay = entry.source == AddressSource::kExchange;
    if (!entry.node_id.empty() && (known.node_id.empty() || !hearsay)) {
      known.node_id = entry.node_id;
    }
    if (entry.role != v1::PEER_ROLE_UNSPECIFIED && !hearsay) {
      known.role = entry.role;
    }
    if (entry.source == AddressSource::kSeed) known.source = entry.source;
    known.height = std::max(known.height, entry.height);
    known.last_seen = now;
    return;
  }
  if (entries_.size() >= kMaxKnownAddresses) EvictOne();
  if (entries_.size() >= kMaxKnownAddresses) return;  // all seeds
  entry.last_seen = now;
  entries_.emplace(entry.address, std::move(entry));
}

void AddressBook::EvictOne() {
  // The learned entry with the most failures, oldest news among equals.
  auto worst = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.source == AddressSource::kSeed) continue;
    if (worst == entries_.end() ||
        std::tie(it->second.failures, worst->second.last_seen) >
            std::tie(worst->second.failures, it->second.last_seen)) {
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

void AddressBook::OnDialFailed(const std::string& address, absl::Time now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  KnownAddress& e = it->second;
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
  if (!node_id.empty()) it->second.node_id = node_id;
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
    ready.push_back(&e);
  }
  auto rank = [](const KnownAddress* e) {
    if (e->source == AddressSource::kSeed) return 0;
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
  for (const KnownAddress* e : ready) out.push_back(e->address);
  return out;
}

std::vector<KnownAddress> AddressBook::List() const {
  std::vector<KnownAddress> out;
  for (const auto& [address, e] : entries_) out.push_back(e);
  return out;
}

void AddressBook::Ban(const std::string& key, absl::Time until) {
  if (bans_.size() >= kMaxBans && !bans_.contains(key)) {
    // Forget the ban that ends first.
    auto first = std::min_element(
        bans_.begin(), bans_.end(),
        [](const auto& a, const auto& b) { return a.second < b.second; });
    bans_.erase(first);
  }
  bans_[key] = until;
}

bool AddressBook::IsBanned(const std::string& key, absl::Time now) const {
  auto it = bans_.find(key);
  return it != bans_.end() && it->second > now;
}

void AddressBook::ExpireBans(absl::Time now) {
  absl::erase_if(bans_, [now](const auto& ban) { return ban.second <= now; });
}

}  // namespace pbchain
