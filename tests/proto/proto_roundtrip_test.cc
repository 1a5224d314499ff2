// Compile-and-roundtrip check of the generated pbchain.v1 code: the messages
// serialize and parse back field for field, presence of optional fields
// survives the wire, and the gRPC stub and service types exist.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <type_traits>

#include "gtest/gtest.h"
#include "pbchain/v1/gossip.grpc.pb.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "pbchain/v1/tracker.grpc.pb.h"
#include "pbchain/v1/types.pb.h"

namespace pbchain {
namespace {

using ::pbchain::v1::Block;
using ::pbchain::v1::DataRecord;
using ::pbchain::v1::Transaction;

// The stubs and the server-side bases must be generated for every service.
static_assert(std::is_class_v<v1::NodeService::Stub>);
static_assert(std::is_class_v<v1::NodeService::CallbackService>);
static_assert(std::is_class_v<v1::Gossip::Stub>);
static_assert(std::is_class_v<v1::Gossip::CallbackService>);
static_assert(std::is_class_v<v1::Tracker::Stub>);
static_assert(std::is_class_v<v1::Tracker::CallbackService>);

Block MakeBlock() {
  Block block;
  v1::BlockHeader* header = block.mutable_header();
  header->set_version(1);
  header->set_prev_hash(std::string(32, '\x11'));
  header->set_merkle_root(std::string(32, '\x22'));
  header->set_time(1700000000);
  header->set_bits(0x1d00ffff);
  header->set_nonce(0xdeadbeef);

  Transaction* coinbase = block.add_transactions();
  coinbase->set_version(1);
  coinbase->set_kind(v1::TRANSACTION_KIND_COINBASE);
  coinbase->set_chain_id("pbchain-test");
  coinbase->set_recipient(std::string(20, '\x33'));
  coinbase->set_amount(50'000'000);
  coinbase->set_height(7);
  coinbase->set_extra_nonce(0xffffffffffffffffULL);

  Transaction* transfer = block.add_transactions();
  transfer->set_version(1);
  transfer->set_kind(v1::TRANSACTION_KIND_TRANSFER);
  transfer->set_chain_id("pbchain-test");
  transfer->set_sender_pubkey(std::string(32, '\x44'));
  transfer->set_recipient(std::string(20, '\x55'));
  transfer->set_amount(0);
  transfer->set_fee(10);
  transfer->set_nonce(3);
  transfer->set_signature(std::string(64, '\x66'));
  DataRecord* record = transfer->mutable_record();
  record->set_namespace_("vote.2026");
  record->set_key(std::string("voter\0id", 8));  // Any bytes, NUL included.
  record->set_payload("yes");
  return block;
}

TEST(ProtoRoundtripTest, BlockSurvivesSerializeAndParse) {
  const Block original = MakeBlock();
  std::string wire;
  ASSERT_TRUE(original.SerializeToString(&wire));

  Block parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));

  EXPECT_EQ(parsed.header().version(), 1u);
  EXPECT_EQ(parsed.header().prev_hash(), std::string(32, '\x11'));
  EXPECT_EQ(parsed.header().merkle_root(), std::string(32, '\x22'));
  EXPECT_EQ(parsed.header().time(), 1700000000u);
  EXPECT_EQ(parsed.header().bits(), 0x1d00ffffu);
  EXPECT_EQ(parsed.header().nonce(), 0xdeadbeefu);
  ASSERT_EQ(parsed.transactions_size(), 2);

  const Transaction& coinbase = parsed.transactions(0);
  EXPECT_EQ(coinbase.kind(), v1::TRANSACTION_KIND_COINBASE);
  EXPECT_EQ(coinbase.chain_id(), "pbchain-test");
  EXPECT_EQ(coinbase.recipient(), std::string(20, '\x33'));
  EXPECT_EQ(coinbase.amount(), 50'000'000u);
  EXPECT_EQ(coinbase.height(), 7u);
  EXPECT_EQ(coinbase.extra_nonce(), 0xffffffffffffffffULL);
  EXPECT_FALSE(coinbase.has_record());
  EXPECT_TRUE(coinbase.signature().empty());

  const Transaction& transfer = parsed.transactions(1);
  EXPECT_EQ(transfer.kind(), v1::TRANSACTION_KIND_TRANSFER);
  EXPECT_EQ(transfer.sender_pubkey(), std::string(32, '\x44'));
  EXPECT_EQ(transfer.recipient(), std::string(20, '\x55'));
  EXPECT_EQ(transfer.amount(), 0u);
  EXPECT_EQ(transfer.fee(), 10u);
  EXPECT_EQ(transfer.nonce(), 3u);
  EXPECT_EQ(transfer.signature(), std::string(64, '\x66'));
  ASSERT_TRUE(transfer.has_record());
  EXPECT_EQ(transfer.record().namespace_(), "vote.2026");
  ASSERT_TRUE(transfer.record().has_key());
  EXPECT_EQ(transfer.record().key(), std::string("voter\0id", 8));
  EXPECT_EQ(transfer.record().payload(), "yes");

  // Re-serializing the parsed message gives the same bytes (same fields,
  // same order); this is not canonical encoding, which lives in chain/.
  std::string again;
  ASSERT_TRUE(parsed.SerializeToString(&again));
  EXPECT_EQ(again, wire);
}

TEST(ProtoRoundtripTest, EmptyRecordKeyIsDistinctFromAbsentKey) {
  DataRecord absent;
  absent.set_namespace_("shop");
  DataRecord empty = absent;
  empty.set_key("");

  DataRecord parsed_absent;
  DataRecord parsed_empty;
  ASSERT_TRUE(parsed_absent.ParseFromString(absent.SerializeAsString()));
  ASSERT_TRUE(parsed_empty.ParseFromString(empty.SerializeAsString()));
  EXPECT_FALSE(parsed_absent.has_key());
  EXPECT_TRUE(parsed_empty.has_key());
  EXPECT_TRUE(parsed_empty.key().empty());
}

TEST(ProtoRoundtripTest, GossipEnvelopeCarriesOneBody) {
  v1::GossipEnvelope envelope;
  envelope.mutable_ping()->set_nonce(42);
  envelope.mutable_block()->mutable_block()->CopyFrom(MakeBlock());

  v1::GossipEnvelope parsed;
  ASSERT_TRUE(parsed.ParseFromString(envelope.SerializeAsString()));
  EXPECT_EQ(parsed.body_case(), v1::GossipEnvelope::kBlock);
  EXPECT_FALSE(parsed.has_ping());
  EXPECT_EQ(parsed.block().block().transactions_size(), 2);
}

TEST(ProtoRoundtripTest, NodeStubCanBeCreatedWithoutCalling) {
  // Port 1 on loopback: nothing listens there, and nothing is called.
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::NodeService::Stub> node =
      v1::NodeService::NewStub(channel);
  std::unique_ptr<v1::Tracker::Stub> tracker = v1::Tracker::NewStub(channel);
  std::unique_ptr<v1::Gossip::Stub> gossip = v1::Gossip::NewStub(channel);
  EXPECT_NE(node, nullptr);
  EXPECT_NE(tracker, nullptr);
  EXPECT_NE(gossip, nullptr);
}

}  // namespace
}  // namespace pbchain
