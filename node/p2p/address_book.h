// The addresses of other nodes this node knows (from --peer, the tracker,
// peer exchange, local discovery and peers' hellos), with when to dial them
// next, and the bans of misbehaving peers. Bounded: a full book forgets its
// least useful entries.
//
// Not thread-safe: the network guards it with its own mutex.
#ifndef PBCHAIN_NODE_P2P_ADDRESS_BOOK_H_
#define PBCHAIN_NODE_P2P_ADDRESS_BOOK_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pbchain/v1/types.pb.h"

namespace pbchain {

// Most addresses kept; most bans remembered at once.
inline constexpr size_t kMaxKnownAddresses = 1000;
inline constexpr size_t kMaxBans = 10000;
// Redial backoff after failures: 1 s, doubling, at most this.
inline constexpr absl::Duration kMaxDialBackoff = absl::Seconds(30);
// A learned (not --peer) address that failed this many dials in a row is
// forgotten.
inline constexpr int kMaxDialFailures = 8;

// Checks a dialable "host:port" (ParseHostPort of common/host_port.h).
// INVALID_ARGUMENT otherwise.
absl::Status CheckPeerAddress(const std::string& address);

enum class AddressSource { kSeed, kTracker, kExchange, kDiscovery, kHello };

struct KnownAddress {
  std::string address;
  std::string node_id;  // empty until known
  v1::PeerRole role = v1::PEER_ROLE_UNSPECIFIED;
  AddressSource source = AddressSource::kExchange;
  int failures = 0;  // dials in a row that failed
  absl::Time next_attempt = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();  // last success or report
  uint64_t height = 0;
};

class AddressBook {
 public:
  // Adds or refreshes an address. --peer seeds (kSeed) are never forgotten.
  void Add(KnownAddress entry, absl::Time now);
  // Forgets a learned address (the tracker reported it gone); no-op for
  // seeds and unknown addresses.
  void Remove(const std::string& address);
  // A dial, or a session that ended soon after its handshake, failed:
  // backoff (1 s doubling, at most kMaxDialBackoff); a learned address is
  // forgotten after kMaxDialFailures in a row.
  void OnDialFailed(const std::string& address, absl::Time now);
  // The handshake on a dialed address succeeded (records the node id).
  void OnConnected(const std::string& address, const std::string& node_id,
                   absl::Time now);
  // A long session ended: the address is good, dial it again at once.
  void OnSessionEnded(const std::string& address, absl::Time now);
  // Addresses to dial now, best first: seeds given by --peer, then nodes
  // of role seed, then head, then the rest; fewer failures first.
  std::vector<std::string> DialCandidates(
      absl::Time now, const absl::flat_hash_set<std::string>& skip) const;
  std::vector<KnownAddress> List() const;
  size_t size() const { return entries_.size(); }

  // Bans: by node id, dialed address and (off loopback) IP; see Network.
  // A banned address is not a dial candidate.
  void Ban(const std::string& key, absl::Time until);
  bool IsBanned(const std::string& key, absl::Time now) const;
  void ExpireBans(absl::Time now);

 private:
  void EvictOne();
  std::map<std::string, KnownAddress> entries_;
  absl::flat_hash_map<std::string, absl::Time> bans_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_ADDRESS_BOOK_H_
