// The addresses of other nodes this node knows (from --peer, the tracker,
// peer exchange, local discovery and peers' hellos), with when to dial them
// next, and the bans of misbehaving peers. Bounded: a full book forgets its
// least useful entries.
//
// Hearsay is not trusted: an address learned from a peer (the listen
// address of its Hello, or an entry of its PeerList) is unverified until an
// outbound handshake to it succeeds. Unverified addresses are never passed
// on to other peers, are forgotten after one failed dial, are dialed last,
// and the dials they cause are rate-limited per address and per source (the
// peer that named them), so that peers cannot aim this node's dials at
// hosts that are no nodes. One source can hold at most
// kMaxUnverifiedPerSource of them.
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

// Most addresses kept; most misbehaviour bans remembered at once (a full
// table forgets the one that ends first).
inline constexpr size_t kMaxKnownAddresses = 1000;
inline constexpr size_t kMaxBans = 10000;
// Most operator bans (the admin API's BanPeer) in force at once: counted
// apart from kMaxBans and never pushed out by misbehaviour bans; one more
// is refused (RESOURCE_EXHAUSTED).
inline constexpr size_t kMaxOperatorBans = 1000;
// Redial backoff after failures: 1 s, doubling, at most this.
inline constexpr absl::Duration kMaxDialBackoff = absl::Seconds(30);
// A learned (not --peer) address that failed this many dials in a row is
// forgotten.
inline constexpr int kMaxDialFailures = 8;

// Hearsay addresses (AddressSource kHello, kExchange) and the dials they
// cause; see the file comment.
//
// Most unverified addresses one source (a peer's IP off loopback, else its
// node id) holds in the book at once; more from it are ignored.
inline constexpr size_t kMaxUnverifiedPerSource = 32;
// One hearsay address is dialed at most once per kHearsayDialInterval;
// after each dial of it that failed while unverified, the wait doubles, up
// to kMaxHearsayDialBackoff. Remembered even after the address is
// forgotten, so a peer naming it again does not earn a new dial.
inline constexpr absl::Duration kHearsayDialInterval = absl::Seconds(30);
inline constexpr absl::Duration kMaxHearsayDialBackoff = absl::Minutes(16);
// Unverified addresses of one source are dialed at most once per this.
inline constexpr absl::Duration kSourceDialInterval = absl::Seconds(10);
// Most addresses and sources whose dial times are remembered.
inline constexpr size_t kMaxDialRecords = 10000;

// Checks a dialable "host:port" (ParseHostPort of common/host_port.h).
// INVALID_ARGUMENT otherwise.
absl::Status CheckPeerAddress(const std::string& address);

// --- Addresses a peer claims (docs/PROTOCOL.md "Addresses") ---
// The listen address to keep for a peer whose Hello claims `claimed`, on a
// connection from `observed_ip` (IpFromGrpcPeer of the transport address):
// an unspecified host ("0.0.0.0:P", "[::]:P") becomes observed_ip:P; a
// loopback host claimed over a connection from a non-loopback IP is of no
// use to anyone else and gives ""; so does an empty or malformed claim.
// With no observed IP (a unix: or in-process link) other claims are kept.
std::string ListenAddressFromHello(const std::string& claimed,
                                   const std::string& observed_ip);
// Whether an address heard from others (peer exchange from a peer at
// `source_ip`, or the tracker with source_ip "") may be kept and passed on:
// not with an unspecified host (nobody can dial it), not a loopback host
// named by a peer off loopback.
bool IsSpreadableAddress(const std::string& address,
                         const std::string& source_ip);

// --- Ban keys (the operator's targets, compared as addresses) ---
// What a canonical IP is (CanonicalIp).
enum class IpKind { kNotAnIp, kLoopback, kUnspecified, kOther };
// `ip` (IPv4 or IPv6 text, without brackets) parsed with inet_pton and
// printed back with inet_ntop: lower case, zeros compressed, and an
// IPv4-mapped IPv6 address ("::ffff:10.0.0.5", "::FFFF:a00:5") as plain
// IPv4 ("10.0.0.5"), the way gRPC reports an IPv4 client
// ("ipv4:10.0.0.5:PORT"). Sets *kind (loopback: 127.0.0.0/8 and ::1, also
// when mapped; unspecified: 0.0.0.0 and ::). Returns "" (kind kNotAnIp) if
// `ip` is not an IP address.
std::string CanonicalIp(const std::string& ip, IpKind* kind = nullptr);
// A "host:port" whose IP host is in CanonicalIp form (IPv6 in brackets);
// other hosts and malformed text unchanged.
std::string CanonicalAddress(const std::string& address);

enum class AddressSource { kSeed, kTracker, kExchange, kDiscovery, kHello };

// One ban in force (AddressBook::Bans).
struct BanEntry {
  std::string key;  // node id, dialed "host:port" or IP
  std::string reason;
  absl::Time until;
};

struct KnownAddress {
  std::string address;
  std::string node_id;  // empty until known
  v1::PeerRole role = v1::PEER_ROLE_UNSPECIFIED;
  AddressSource source = AddressSource::kExchange;
  int failures = 0;  // dials in a row that failed
  absl::Time next_attempt = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();  // last success or report
  uint64_t height = 0;
  // Whether the address is known good: given by the operator, the tracker
  // or local discovery, or an outbound handshake to it succeeded. Set by
  // the book (Add, OnConnected), not by the caller.
  bool verified = false;
  // Who named an unverified address (see kMaxUnverifiedPerSource); empty
  // when unknown (no per-source cap) or once verified.
  std::string learned_from;
};

// Whether addresses from `source` are hearsay (unverified until dialed).
bool IsHearsay(AddressSource source);

class AddressBook {
 public:
  // Adds or refreshes an address. --peer seeds (kSeed) are never forgotten.
  // A hearsay entry (IsHearsay) is added unverified and counts against the
  // per-source cap of its learned_from; an entry from a trusted source
  // verifies a known address. Returns false if the address was not added
  // (the source's cap, or a full book of seeds).
  bool Add(KnownAddress entry, absl::Time now);
  // Forgets a learned address (the tracker reported it gone); no-op for
  // seeds and unknown addresses.
  void Remove(const std::string& address);
  // A dial of `address` starts now: recorded for the per-address and
  // per-source limits of hearsay addresses.
  void OnDialStarted(const std::string& address, absl::Time now);
  // A dial, or a session that ended soon after its handshake, failed:
  // backoff (1 s doubling, at most kMaxDialBackoff); a learned address is
  // forgotten after kMaxDialFailures in a row, an unverified one at once.
  void OnDialFailed(const std::string& address, absl::Time now);
  // The handshake on a dialed address succeeded: the address is verified
  // (and records the node id).
  void OnConnected(const std::string& address, const std::string& node_id,
                   absl::Time now);
  // Whether `address` is in the book and verified.
  bool IsVerified(const std::string& address) const;
  // A long session ended: the address is good, dial it again at once.
  void OnSessionEnded(const std::string& address, absl::Time now);
  // Addresses to dial now, best first: seeds given by --peer, then nodes
  // of role seed, then head, then the rest, unverified ones last; fewer
  // failures first. Hearsay addresses dialed too recently (see
  // kHearsayDialInterval, kSourceDialInterval) wait; at most one
  // unverified address per source is returned.
  std::vector<std::string> DialCandidates(
      absl::Time now, const absl::flat_hash_set<std::string>& skip) const;
  std::vector<KnownAddress> List() const;
  size_t size() const { return entries_.size(); }

  // Bans: by node id, dialed address and (off loopback) IP; see Network.
  // A banned address is not a dial candidate. Ban is a misbehaviour ban
  // (at most kMaxBans: a full table forgets the misbehaviour ban that ends
  // first); on a key the operator banned it only extends the ban.
  void Ban(const std::string& key, absl::Time until,
           const std::string& reason = "");
  // The operator's ban of `key` until `until` (replacing any ban of it).
  // RESOURCE_EXHAUSTED if kMaxOperatorBans other operator bans are in
  // force at `now`.
  absl::Status OperatorBan(const std::string& key, absl::Time until,
                           const std::string& reason, absl::Time now);
  bool IsBanned(const std::string& key, absl::Time now) const;
  void ExpireBans(absl::Time now);
  // Lifts the ban of `key`; false if there was none.
  bool Unban(const std::string& key);
  // The bans in force at `now`, by key.
  std::vector<BanEntry> Bans(absl::Time now) const;

  // The operator's controls (the admin API). Forget drops `address` even
  // if it is a seed; ForgetNode drops every address known to be node
  // `node_id`'s. Both return how many entries went. MakeDue clears the
  // backoff of `address` so that it is a dial candidate at once.
  size_t Forget(const std::string& address);
  size_t ForgetNode(const std::string& node_id);
  void MakeDue(const std::string& address, absl::Time now);

 private:
  // When a hearsay address was last dialed, and how many of its dials
  // failed while it was unverified.
  struct DialRecord {
    absl::Time last = absl::InfinitePast();
    int failures = 0;
  };
  // Evicts one entry that is not a seed (only an unverified one when
  // `unverified_only`: hearsay never pushes out a verified address).
  void EvictOne(bool unverified_only);
  size_t UnverifiedFrom(const std::string& source) const;
  absl::Time NextHearsayDial(const std::string& address) const;
  // Keeps dials_ and source_dials_ within kMaxDialRecords.
  void TrimDialRecords(absl::Time now);

  std::map<std::string, KnownAddress> entries_;
  struct BanRecord {
    absl::Time until;
    std::string reason;
    bool by_operator = false;
  };
  // Erases `it`, keeping operator_bans_.
  void EraseBan(absl::flat_hash_map<std::string, BanRecord>::iterator it);
  absl::flat_hash_map<std::string, BanRecord> bans_;
  // How many records of bans_ are the operator's (by_operator).
  size_t operator_bans_ = 0;
  absl::flat_hash_map<std::string, DialRecord> dials_;  // by address
  // The last dial of an unverified address, by source.
  absl::flat_hash_map<std::string, absl::Time> source_dials_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_ADDRESS_BOOK_H_
