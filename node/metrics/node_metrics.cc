#include "node/metrics/node_metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "chain/validation.h"
#include "common/version.h"

namespace pbchain {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class Families {
 public:
  void Gauge(const std::string& name, const std::string& help, double value,
             Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    Family(name, help, MetricType::Gauge).metric.push_back(std::move(m));
  }
  void Counter(const std::string& name, const std::string& help, double value,
               Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    Family(name, help, MetricType::Counter).metric.push_back(std::move(m));
  }
  void Histogram(const std::string& name, const std::string& help,
                 ClientMetric::Histogram histogram) {
    ClientMetric m;
    m.histogram = std::move(histogram);
    Family(name, help, MetricType::Histogram).metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  // The family `name`, made on first use (its samples stay together).
  MetricFamily& Family(const std::string& name, const std::string& help,
                       MetricType type) {
    if (families_.empty() || families_.back().name != name) {
      MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = type;
      families_.push_back(std::move(f));
    }
    return families_.back();
  }
  std::vector<MetricFamily> families_;
};

}  // namespace

NodeMetrics::NodeMetrics(Node* node, const Network* network,
                         std::function<absl::Time()> now)
    : node_(node), network_(network), now_(std::move(now)) {}

std::vector<MetricFamily> NodeMetrics::Collect() const {
  Families f;
  f.Gauge("pbchain_build_info", "always 1; the software version as a label", 1,
          {{"version", PBCHAIN_VERSION_STRING}});

  // --- Chain ---
  const TipInfo tip = node_->chain().Tip();
  f.Gauge(kMetricChainHeight, "height of the active chain's tip", tip.height);
  f.Gauge(
      "pbchain_tip_age_seconds",
      "now minus the tip block's header time (negative if the header is "
      "from the future)",
      absl::ToDoubleSeconds(now_() - absl::FromUnixSeconds(tip.header.time)));
  f.Gauge("pbchain_chain_work",
          "cumulative work of the active chain (expected hashes), as a "
          "double",
          tip.chain_work.ToDouble());
  const NodeCounters c = node_->counters();
  f.Counter("pbchain_blocks_connected_total",
            "blocks connected to the active chain (reorgs included)",
            static_cast<double>(c.blocks_connected));
  f.Counter("pbchain_blocks_disconnected_total",
            "blocks disconnected from the active chain by reorgs",
            static_cast<double>(c.blocks_disconnected));
  for (size_t r = 1; r < kRejectReasonCount; ++r) {
    f.Counter(kMetricBlocksRejected,
              "blocks found invalid, by reject reason (docs/PROTOCOL.md)",
              static_cast<double>(c.blocks_rejected[r]),
              {{"reason",
                std::string(RejectReasonName(static_cast<RejectReason>(r)))}});
  }
  f.Counter("pbchain_reorgs_total",
            "tip changes that disconnected at least one block",
            static_cast<double>(c.reorgs));
  {
    ClientMetric::Histogram h;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kReorgDepthBuckets.size(); ++i) {
      cumulative += c.reorg_depth[i];
      h.bucket.push_back({cumulative, double(kReorgDepthBuckets[i])});
    }
    cumulative += c.reorg_depth.back();
    h.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    h.sample_count = cumulative;
    h.sample_sum = static_cast<double>(c.reorg_depth_sum);
    f.Histogram("pbchain_reorg_depth_blocks", "blocks disconnected per reorg",
                std::move(h));
  }

  // --- Mining ---
  f.Gauge("pbchain_hash_rate_hashes_per_second",
          "local miner's hash rate over its last template rounds (0 when not "
          "mining)",
          node_->HashRate());
  f.Gauge("pbchain_mining", "1 while the miner is searching nonces",
          node_->mining() ? 1 : 0);
  f.Counter("pbchain_blocks_mined_total",
            "blocks this node mined that joined the active chain",
            static_cast<double>(node_->blocks_mined()));

  // --- Mempool ---
  Mempool& pool = node_->mempool();
  f.Gauge("pbchain_mempool_transactions", "transactions in the mempool",
          static_cast<double>(pool.size()));
  f.Gauge("pbchain_mempool_bytes",
          "canonical bytes of the mempool's transactions",
          static_cast<double>(pool.bytes()));
  const MempoolStats ms = pool.stats();
  const char* returned_help =
      "transactions of blocks undone by reorgs, by what the mempool did with "
      "them: pooled again, invalid on the new chain, evicted by the size "
      "limits";
  f.Counter("pbchain_mempool_reorg_returned_transactions_total", returned_help,
            static_cast<double>(ms.returned_pooled), {{"outcome", "pooled"}});
  f.Counter("pbchain_mempool_reorg_returned_transactions_total", returned_help,
            static_cast<double>(ms.returned_invalid), {{"outcome", "invalid"}});
  f.Counter("pbchain_mempool_reorg_returned_transactions_total", returned_help,
            static_cast<double>(ms.returned_evicted), {{"outcome", "evicted"}});

  // --- Store ---
  f.Gauge("pbchain_store_size_bytes",
          "RocksDB live data: SST files plus memtables",
          static_cast<double>(node_->store_size_bytes()));
  const StoreHealth health = node_->store_health();
  const char* condition_help =
      "1 for the datadir's current condition: writable, full (disk full, "
      "retrying) or failed (the node stops)";
  f.Gauge("pbchain_store_condition", condition_help,
          health.condition == StoreCondition::kWritable,
          {{"condition", "writable"}});
  f.Gauge("pbchain_store_condition", condition_help,
          health.condition == StoreCondition::kFull, {{"condition", "full"}});
  f.Gauge("pbchain_store_condition", condition_help,
          health.condition == StoreCondition::kFailed,
          {{"condition", "failed"}});
  f.Counter("pbchain_store_damaged_reads_total",
            "block reads that found damage in the datadir",
            static_cast<double>(health.damaged_reads));
  f.Gauge("pbchain_store_damaged_blocks",
          "distinct blocks found damaged since start",
          static_cast<double>(health.damaged_blocks));
  f.Gauge("pbchain_backups_enabled", "1 with --backup_dir (periodic backups)",
          c.backups_enabled ? 1 : 0);
  f.Counter("pbchain_backups_total",
            "backups taken since start (periodic and the operator's)",
            static_cast<double>(c.backups_taken));
  f.Gauge("pbchain_backup_last_failed", "1 if the last backup attempt failed",
          c.last_backup_failed ? 1 : 0);

  if (network_ == nullptr) return f.Take();

  // --- Peers, sync, gossip ---
  const PeerSet::PeerCounts peers = network_->peer_counts();
  f.Gauge(kMetricPeers, "connected (handshaken) peers by who dialed",
          peers.inbound, {{"direction", "inbound"}});
  f.Gauge(kMetricPeers, "connected (handshaken) peers by who dialed",
          peers.outbound, {{"direction", "outbound"}});
  f.Gauge("pbchain_sync_active",
          "1 while headers-first sync is fetching a chain with more work",
          network_->syncing() ? 1 : 0);
  f.Gauge("pbchain_sync_peer_best_height",
          "highest height connected peers are known to have (their Hello "
          "and announcements; 0 without peers); with pbchain_chain_height: "
          "sync progress",
          static_cast<double>(network_->best_peer_height()));
  f.Counter("pbchain_misbehaviour_points_total",
            "misbehaviour points charged to peers",
            static_cast<double>(network_->misbehaviour_points()));
  f.Counter("pbchain_peer_bans_total", "peers banned for misbehaviour",
            static_cast<double>(network_->bans()));
  const GossipCounters& g = network_->gossip_counters();
  for (const bool bytes : {false, true}) {
    const char* family =
        bytes ? "pbchain_gossip_bytes_total" : "pbchain_gossip_messages_total";
    for (GossipDirection d :
         {GossipDirection::kReceived, GossipDirection::kSent}) {
      for (int kind = 0; kind < GossipCounters::kKinds; ++kind) {
        f.Counter(
            family,
            bytes ? "gossip bytes (protobuf) by message kind and "
                    "direction"
                  : "gossip messages by message kind and direction",
            static_cast<double>(bytes ? g.bytes(d, kind) : g.messages(d, kind)),
            {{"kind", GossipCounters::KindName(kind)},
             {"direction",
              d == GossipDirection::kReceived ? "received" : "sent"}});
      }
    }
  }
  return f.Take();
}

}  // namespace pbchain
