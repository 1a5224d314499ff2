// Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<name>/)
// from the deterministic test chain of fuzz_util.h, so that the checked-in
// seeds can be regenerated when a format changes:
//
//   build-fuzz/bin/make_fuzz_corpus tests/fuzz/corpus
//
// Each file is named after what it holds; existing files of the same name
// are overwritten, others are left alone (regression inputs stay).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "pbchain/v1/gossip.pb.h"
#include "proto/convert.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace pbchain;
namespace fs = std::filesystem;

fs::path root;

void Write(const std::string& harness, const std::string& name,
           const std::string& bytes) {
  fs::create_directories(root / harness);
  std::ofstream out(root / harness / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good());
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::string Raw(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.bytes.data()), 32);
}

std::string ProtoJson(const google::protobuf::Message& msg) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  FUZZ_CHECK(
      google::protobuf::util::MessageToJsonString(msg, &json, print).ok());
  return json;
}

std::string Envelope(const v1::GossipEnvelope& e) {
  return e.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  const ChainParams& p = fuzz::FuzzParams();
  const std::vector<Block>& blocks = fuzz::FuzzChainBlocks();
  const Block genesis = MakeGenesisBlock(p);
  const Transaction& coinbase = blocks[1].txs[0];
  const Transaction& transfer = blocks[1].txs[1];
  const Transaction& with_record = blocks[1].txs[2];
  const Address to = AddressFromPublicKey(testing::TestKey(1).public_key());

  // tx_decode: canonical encodings.
  Write("tx_decode", "coinbase", Str(coinbase.Encode()));
  Write("tx_decode", "transfer", Str(transfer.Encode()));
  Write("tx_decode", "transfer_record", Str(with_record.Encode()));
  Write("tx_decode", "genesis_coinbase", Str(genesis.txs[0].Encode()));

  // address: the text forms.
  Write("address", "address", to.ToText());
  Write("address", "address_upper",
        "pb" + absl::AsciiStrToUpper(to.ToText().substr(2)));
  Write("address", "display_hash", blocks[0].Hash().ToDisplayHex());
  Write("address", "decimal", "340282366920938463463374607431768211456");
  Write("address", "hex", "00ff10");

  // genesis_json.
  Write("genesis_json", "test_genesis", p.ToJson());
  Write("genesis_json", "default_params", ChainParams().ToJson());

  // block_proto: mode byte, then the message or encoding.
  Write("block_proto", "block",
        "\x00" + BlockToProto(blocks[1]).SerializeAsString());
  Write("block_proto", "header",
        "\x01" + BlockHeaderToProto(blocks[1].header).SerializeAsString());
  Write("block_proto", "transaction",
        "\x02" + TransactionToProto(with_record).SerializeAsString());
  Write("block_proto", "canonical", "\x03" + Str(blocks[1].Encode()));

  // block_validate: flags, parent index, canonical block.
  {
    const Block next = testing::MakeBlock(
        p, blocks[2].header, 3,
        {testing::MakeTransfer(p, testing::TestKey(1), to, 3, 1, 0),
         testing::MakeTransfer(p, testing::TestKey(0), to, 3, 1, 2,
                               DataRecord{"fuzz.app", std::nullopt, "x"})},
        to, 7);
    Write("block_validate", "extends_tip",
          std::string("\x1f\x03", 2) + Str(next.Encode()));
    Write("block_validate", "extends_tip_as_is",
          std::string("\x00\x03", 2) + Str(next.Encode()));
    const Block side = testing::MakeBlock(p, blocks[0].header, 1, {}, to, 9);
    Write("block_validate", "side_branch",
          std::string("\x1e\x01", 2) + Str(side.Encode()));
    Write("block_validate", "known",
          std::string("\x00\x00", 2) + Str(blocks[1].Encode()));
  }

  // chain_import: an export file as `pbtool export` writes it.
  {
    nlohmann::ordered_json header;
    header["format"] = "pbchain-export-v1";
    header["genesis"] = nlohmann::ordered_json::parse(p.ToJson());
    std::string file = header.dump();
    file.pop_back();
    file += ",\"blocks\":[";
    for (size_t i = 0; i < blocks.size(); ++i) {
      file += absl::StrCat(i == 0 ? "\n" : ",\n",
                           ProtoJson(BlockToProto(blocks[i])));
    }
    file += "\n]}\n";
    Write("chain_import", "export_3_blocks", file);
    std::string empty = header.dump();
    empty.pop_back();
    Write("chain_import", "export_no_blocks", empty + ",\"blocks\":[]}\n");
  }

  // gossip: one envelope of each kind.
  {
    v1::GossipEnvelope e;
    v1::Hello* hello = e.mutable_hello();
    hello->set_protocol_version(1);
    hello->set_genesis_hash(Raw(genesis.Hash()));
    hello->set_tip_hash(Raw(blocks[2].Hash()));
    hello->set_height(3);
    hello->set_chain_work("8");
    hello->set_node_id("0123456789abcdef0123456789abcdef");
    hello->set_listen_address("127.0.0.1:7000");
    hello->set_user_agent("fuzz");
    Write("gossip", "hello", Envelope(e));

    e.Clear();
    e.mutable_get_headers()->add_locator_hashes(Raw(blocks[0].Hash()));
    e.mutable_get_headers()->add_locator_hashes(Raw(genesis.Hash()));
    e.mutable_get_headers()->set_max_count(10);
    Write("gossip", "get_headers", Envelope(e));

    e.Clear();
    for (const Block& b : blocks)
      *e.mutable_headers()->add_headers() = BlockHeaderToProto(b.header);
    Write("gossip", "headers", Envelope(e));

    e.Clear();
    *e.mutable_block()->mutable_block() =
        BlockToProto(testing::MakeBlock(p, blocks[2].header, 3, {}, to, 11));
    Write("gossip", "block", Envelope(e));

    e.Clear();
    *e.mutable_transaction()->mutable_transaction() = TransactionToProto(
        testing::MakeTransfer(p, testing::TestKey(1), to, 1, 1, 0));
    Write("gossip", "transaction", Envelope(e));

    e.Clear();
    e.mutable_inventory()->add_block_hashes(Raw(blocks[2].Hash()));
    e.mutable_inventory()->add_txids(Raw(transfer.Id()));
    Write("gossip", "inventory", Envelope(e));

    e.Clear();
    e.mutable_get_data()->add_block_hashes(Raw(blocks[1].Hash()));
    Write("gossip", "get_data", Envelope(e));

    e.Clear();
    e.mutable_reject()->set_code(v1::REJECT_CODE_INVALID);
    e.mutable_reject()->set_hash(Raw(blocks[1].Hash()));
    e.mutable_reject()->set_message("bad");
    Write("gossip", "reject", Envelope(e));

    e.Clear();
    for (const char* addr :
         {"127.0.0.1:7001", "[::1]:7002", "node.example:7003"}) {
      v1::PeerInfo* info = e.mutable_peer_list()->add_peers();
      info->set_node_id(absl::StrCat("id-", addr));
      info->set_address(addr);
      info->set_genesis_hash(Raw(genesis.Hash()));
      info->set_height(2);
    }
    Write("gossip", "peer_list", Envelope(e));

    e.Clear();
    e.mutable_ping()->set_nonce(42);
    Write("gossip", "ping", Envelope(e));
  }

  // http_routes: "METHOD\nTARGET\nBODY".
  {
    const std::string block_hash = blocks[1].Hash().ToDisplayHex();
    const std::string txid = transfer.Id().ToDisplayHex();
    const std::string tx_json =
        absl::StrCat("{\"transaction\":",
                     ProtoJson(TransactionToProto(testing::MakeTransfer(
                         p, testing::TestKey(1), to, 1, 1, 0))),
                     "}");
    const std::vector<std::pair<std::string, std::string>> requests = {
        {"info", "GET\n/v1/info\n"},
        {"blocks", "GET\n/v1/blocks?from=1&to=3\n"},
        {"block", "GET\n/v1/blocks/" + block_hash + "\n"},
        {"block_by_height", "HEAD\n/v1/blocks/2\n"},
        {"tx", "GET\n/v1/txs/" + txid + "\n"},
        {"submit", "POST\n/v1/txs\n" + tx_json},
        {"account", "GET\n/v1/accounts/" + to.ToText() + "\n"},
        {"history", "GET\n/v1/accounts/" + to.ToText() +
                        "/history?limit=5&before=" + txid + "\n"},
        {"mempool", "GET\n/v1/mempool?pageSize=3&pageToken=abc\n"},
        {"peers", "GET\n/v1/peers\n"},
        {"tips", "GET\n/v1/tips?limit=2\n"},
        {"records", "GET\n/v1/records/fuzz.app?pageSize=2\n"},
        {"record", "GET\n/v1/records/fuzz.app/k%2F1%20x+y\n"},
        {"events", "GET\n/v1/events/tips\n"},
        {"index", "GET\n/\n"},
        {"asset", "GET\n/index.html?x=%E2%82%AC\n"},
        {"wrong_method", "DELETE\n/v1/info\n"},
        {"bad_escape", "GET\n/v1/blocks/%zz\n"},
    };
    for (const auto& [name, request] : requests)
      Write("http_routes", name, request);
  }
  std::printf("wrote the seed corpora under %s\n", argv[1]);
  return 0;
}
