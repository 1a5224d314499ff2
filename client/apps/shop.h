// The shop app's logic (pbshop): a monkey shop whose whole state is on the
// chain, so every node shows the same shop.
//
// Record layout for shop NAME (docs/APPS.md):
//   "shop.NAME"           key "owner": payload = the owner's address text,
//                         written by the owner (write-once: the first
//                         opener owns the name on this chain).
//   "shop.NAME.shoppers"  key = shopper address text, payload
//                         {"name": "..."}; carried by the owner's transfer
//                         of kShopperGrant coins to that address (write-once:
//                         an address is funded once).
//   "shop.NAME.orders"    no key, payload {"item": id, "qty": n, "price":
//                         p}; carried by the shopper's transfer of p * n
//                         coins to the owner. Keyless, so that nobody can
//                         block a purchase by writing its key first (keyed
//                         records are write-once); the transaction itself
//                         (unique, signed by the shopper) is the order.
// An order counts only if its transaction really paid qty * the catalogue
// price to the owner (VerifyOrder); a registration counts only if the owner
// wrote it. Orders keyed "<shopper address>/<nonce>" (written by earlier
// versions) still count when the key names their own sender and nonce.
//
// Pure functions and calls through client::NodeClient; nothing is printed.
// Thread: any (a NodeClient may be shared); a ShopClient is a small value.
#ifndef PBCHAIN_CLIENT_APPS_SHOP_H_
#define PBCHAIN_CLIENT_APPS_SHOP_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/address.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/wallet.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain::apps {

// Shop used when --shop is not given.
inline constexpr char kDefaultShopName[] = "monkeys";
// Longest shop name: "shop." + name + ".shoppers" must fit 64 chars.
inline constexpr size_t kMaxShopNameLen = 64 - 5 - 9;
// Coins the owner sends a newly registered shopper.
inline constexpr uint64_t kShopperGrant = 1000;
// Default fee of a registration or purchase (a coin transfer).
inline constexpr uint64_t kDefaultShopFee = 1;
// Default fee of `open` (a pure data record).
inline constexpr uint64_t kDefaultOpenFee = 0;
// Most items of one kind in one order.
inline constexpr uint64_t kMaxOrderQuantity = 1'000'000;
// Longest shopper name (bytes).
inline constexpr size_t kMaxShopperNameBytes = 64;
// Key of the owner record in "shop.NAME".
inline constexpr char kOwnerKey[] = "owner";

// One thing the shop sells.
struct CatalogueItem {
  std::string id;    // lowercase, used in orders ("capuchin")
  std::string name;  // for people ("Capuchin")
  uint64_t price = 0;
};

// The built-in catalogue: a dozen monkeys, cheapest first. Pure.
const std::vector<CatalogueItem>& Catalogue();

// The item whose id or name equals `text` (ASCII case-insensitive), or
// whose 1-based position in Catalogue() is `text`; nullptr if none. Pure.
const CatalogueItem* FindItem(std::string_view text);

// The three namespaces of one shop.
struct ShopNamespaces {
  std::string shop;      // "shop.NAME"
  std::string shoppers;  // "shop.NAME.shoppers"
  std::string orders;    // "shop.NAME.orders"
};

// Namespaces of shop `name`. INVALID_ARGUMENT unless `name` is 1..50 chars
// of [a-z0-9_-] (no '.', so that no shop's namespaces collide with
// another's). Pure.
absl::StatusOr<ShopNamespaces> NamespacesFor(std::string_view name);

// OK if `name` is 1..64 bytes of one-line printable UTF-8 without
// leading/trailing spaces; INVALID_ARGUMENT otherwise. Pure.
absl::Status CheckShopperName(std::string_view name);

// price * qty. INVALID_ARGUMENT if qty is 0 or above kMaxOrderQuantity, or
// the product overflows u64. Pure.
absl::StatusOr<uint64_t> OrderCost(const CatalogueItem& item, uint64_t qty);

// How many of `item` one order can buy with `available` coins paying `fee`
// (0 if not even one). Pure.
uint64_t AffordableQuantity(const CatalogueItem& item, uint64_t available,
                            uint64_t fee);

// OK if `available` (confirmed balance minus `pending` spending in the
// mempool, already subtracted by the caller) covers qty * price + fee;
// otherwise FAILED_PRECONDITION with the message people see, e.g.
// "Not enough coins: 3 x Capuchin cost 600, you have 400" (with
// " plus fee F" when only the fee is missing, and "(C confirmed, P pending
// in the mempool)" when pending > 0). INVALID_ARGUMENT as OrderCost. Pure.
absl::Status CheckAffordable(const CatalogueItem& item, uint64_t qty,
                             uint64_t fee, uint64_t available,
                             uint64_t pending = 0);

// Key of an order as earlier versions wrote them (orders are keyless now):
// "<address text>/<nonce>". Pure.
std::string OrderKey(const Address& shopper, uint64_t nonce);
// Record payload of an order: {"item":id,"qty":n,"price":p}. Pure.
std::string OrderPayload(const CatalogueItem& item, uint64_t qty);
// Record payload of a registration: {"name":name}. Pure.
std::string ShopperPayload(std::string_view name);

// A verified purchase.
struct Order {
  std::string shopper;  // address text
  std::string item;     // catalogue id
  uint64_t qty = 0;
  uint64_t price = 0;
  uint64_t paid = 0;  // the transaction's amount (= qty * price)
  uint64_t fee = 0;
  std::string txid;  // display hex
  uint64_t block_height = 0;
};

// Checks that `entry` (a record of the orders namespace `orders_ns`) and
// `tx` (the transaction carrying it, from GetTransaction of entry.txid) form
// a valid order paid to `owner`: `tx` is a transfer carrying this very
// record, the record has no key (or, as earlier versions wrote, the key
// "<sender address>/<tx nonce>"), the payload names a catalogue item with
// qty >= 1 and the catalogue price, and the transfer paid exactly
// qty * price to the owner. INVALID_ARGUMENT saying what is wrong
// otherwise. Pure.
absl::StatusOr<Order> VerifyOrder(const v1::RecordEntry& entry,
                                  const v1::Transaction& tx,
                                  const std::string& orders_ns,
                                  const Address& owner);

// The parsed registration record `entry` of the shoppers namespace, when
// the owner wrote it: {address, name}; INVALID_ARGUMENT otherwise. Pure.
struct Shopper {
  std::string address;  // text
  std::string name;
  uint64_t block_height = 0;
  std::string txid;  // display hex
};
absl::StatusOr<Shopper> ParseShopperRecord(const v1::RecordEntry& entry,
                                           const Address& owner);

// The owner record's meaning: the owner's address, if `entry` (key "owner"
// of "shop.NAME") is well formed (payload = the sender's address text).
// FAILED_PRECONDITION otherwise (the name is taken but unusable). Pure.
absl::StatusOr<Address> ParseOwnerRecord(const v1::RecordEntry& entry);

// Coins of one address as the node sees them.
struct Funds {
  uint64_t balance = 0;        // confirmed
  uint64_t pending_spend = 0;  // amount + fee of its pooled transfers
  uint64_t available = 0;      // balance - pending_spend (>= 0)
  uint64_t nonce = 0;          // confirmed
  uint64_t pending_nonce = 0;  // next nonce counting pooled transfers
  uint64_t height = 0;
};

// Where a shop stands on the chain.
struct ShopInfo {
  std::string name;
  ShopNamespaces ns;
  Address owner;
  uint64_t opened_height = 0;
  std::string open_txid;  // display hex
};

// Options of a write (open, register, buy).
struct ShopWriteOptions {
  uint64_t fee = kDefaultShopFee;
  client::WaitOptions wait;
  client::ProgressCallback progress;
};

struct OpenResult {
  bool already_open = false;  // the wallet owned the shop already
  client::WriteResult write;  // when submitted
};

struct RegisterResult {
  Shopper shopper;
  client::WriteResult write;
};

struct BuyResult {
  const CatalogueItem* item = nullptr;
  uint64_t qty = 0;
  uint64_t cost = 0;  // qty * price
  uint64_t fee = 0;
  Funds before;
  client::WriteResult write;
};

// A shopper's view of the shop, read from the chain.
struct Inventory {
  std::string address;              // text
  std::optional<std::string> name;  // when registered by the owner
  Funds funds;
  std::vector<Order> orders;              // verified, chain order
  std::map<std::string, uint64_t> items;  // catalogue id -> qty bought
  uint64_t spent = 0;                     // sum of paid
  std::vector<std::string> ignored;       // records not counted, and why
};

// The shop NAME on the chain of `node`. The node must outlive it.
class ShopClient {
 public:
  // INVALID_ARGUMENT for a bad shop name (see NamespacesFor).
  static absl::StatusOr<ShopClient> Create(client::NodeClient& node,
                                           std::string_view name);

  const std::string& name() const { return name_; }
  const ShopNamespaces& namespaces() const { return ns_; }

  // The owner record. NOT_FOUND "shop 'NAME' is not open on this chain ..."
  // if nobody opened it; FAILED_PRECONDITION if the record is malformed;
  // node errors otherwise.
  absl::StatusOr<ShopInfo> Info();

  // Balance, pooled spending and nonces of `who` (GetAccount + GetMempool).
  absl::StatusOr<Funds> GetFunds(const Address& who);

  // Opens the shop with `owner` as its owner (writes the owner record).
  // already_open (no write) if `owner` owns it already; FAILED_PRECONDITION
  // "shop 'NAME' is already owned by pb..." if someone else does.
  absl::StatusOr<OpenResult> Open(const client::Wallet& owner,
                                  const ShopWriteOptions& options);

  // Registers `shopper` under `name`: the owner sends it kShopperGrant coins
  // with the registration record. Refusals before any write: NOT_FOUND (shop
  // not open), PERMISSION_DENIED (wallet is not the owner), INVALID_ARGUMENT
  // (bad name, shopper = owner), ALREADY_EXISTS (address registered before;
  // also when the node rejects a duplicate), FAILED_PRECONDITION (owner lacks
  // the coins). Other node rejections: write.outcome kRejected.
  absl::StatusOr<RegisterResult> Register(const client::Wallet& owner,
                                          const Address& shopper,
                                          std::string_view name,
                                          const ShopWriteOptions& options);

  // Buys `qty` of `item` with `shopper`'s coins: a transfer of qty * price
  // to the owner with the (keyless) order record, nonce = the shopper's
  // pending nonce.
  // Refusals before any write: NOT_FOUND (shop not open), INVALID_ARGUMENT
  // (qty, owner buying from itself), FAILED_PRECONDITION "Not enough coins:
  // ..." (CheckAffordable). Node rejections: write.outcome kRejected.
  absl::StatusOr<BuyResult> Buy(const client::Wallet& shopper,
                                const CatalogueItem& item, uint64_t qty,
                                const ShopWriteOptions& options);

  // Balance, registration and verified orders of `who` (one GetTransaction
  // per order record sent by that address).
  absl::StatusOr<Inventory> GetInventory(const Address& who);

  // Registered shoppers (records written by the owner), chain order.
  absl::StatusOr<std::vector<Shopper>> Shoppers();

 private:
  ShopClient(client::NodeClient& node, std::string name, ShopNamespaces ns)
      : node_(&node), name_(std::move(name)), ns_(std::move(ns)) {}

  client::NodeClient* node_;
  std::string name_;
  ShopNamespaces ns_;
};

}  // namespace pbchain::apps

#endif  // PBCHAIN_CLIENT_APPS_SHOP_H_
