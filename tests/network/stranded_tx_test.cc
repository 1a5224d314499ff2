// Issue 15 with real processes: a node that accepts a transfer while it has
// no peer no longer keeps it to itself. Node "alone" takes a transfer with
// no peer; node "late" then starts with --peer alone and must get the
// transfer into its own mempool, so the sender's next transfer, submitted to
// "late", is accepted there (before the fix it was refused as a nonce gap).
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

TEST(StrandedTxTest, ATransferAcceptedWithoutPeersReachesALaterPeer) {
  TestNet net("stranded_tx", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  const Address payee = AddressFromPublicKey(net.funded_key(3).public_key());

  NodeProcess* alone = net.StartNode("alone", NodeConfig{});
  ASSERT_NE(alone, nullptr);
  absl::StatusOr<std::string> first =
      SubmitTransfer(*alone, net.params(), net.funded_key(0), payee, 10);
  ASSERT_TRUE(first.ok()) << first.status();

  NodeProcess* late =
      net.StartNode("late", NodeConfig{.peers = {alone->address()}});
  ASSERT_NE(late, nullptr);
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetTransactionResponse> tx =
            late->Transaction(*first);
        seen = tx.ok() ? absl::StrCat("in_mempool=", tx->in_mempool())
                       : tx.status().ToString();
        return tx.ok() && tx->in_mempool();
      },
      absl::Seconds(60), "the late peer to get the stranded transfer"));

  // The sender's next transfer is no nonce gap on the late peer.
  absl::StatusOr<std::string> second =
      SubmitTransfer(*late, net.params(), net.funded_key(0), payee, 11);
  ASSERT_TRUE(second.ok()) << second.status();
  // And it travels back.
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetTransactionResponse> tx =
            alone->Transaction(*second);
        seen = tx.ok() ? absl::StrCat("in_mempool=", tx->in_mempool())
                       : tx.status().ToString();
        return tx.ok() && tx->in_mempool();
      },
      absl::Seconds(60), "the second transfer to reach the first node"));
}

}  // namespace
}  // namespace pbchain::nettest
