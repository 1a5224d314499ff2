#include "client/apps/shop.h"

#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chain/bytes.h"
#include "client/apps/records.h"
#include "client/apps/voting.h"
#include "client/format.h"
#include "client/transfer.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pbchain::apps {
namespace {

using Json = nlohmann::json;

std::string TxidText(const std::string& txid_bytes) {
  return client::DisplayHash(txid_bytes);
}

std::string TxidText(const Hash256& txid) { return txid.ToDisplayHex(); }

// Parses address text as carried in records and RecordEntry.sender_address.
std::optional<Address> AddressOf(std::string_view text) {
  absl::StatusOr<Address> a = Address::FromText(text);
  if (!a.ok()) return std::nullopt;
  return *a;
}

std::optional<Address> SenderOf(const v1::Transaction& tx) {
  if (tx.kind() != v1::TRANSACTION_KIND_TRANSFER) return std::nullopt;
  return AddressOf(client::SenderAddressText(tx.sender_pubkey()));
}

// How an order record is named in messages: its key if it has one (the
// older keyed orders), else its transaction.
std::string OrderLabel(const v1::RecordEntry& e) {
  if (e.record().has_key()) return e.record().key();
  return absl::StrCat("tx ", client::DisplayHash(e.txid()));
}

// absl's string_view is its own type in this abseil build.
absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

std::string RawAddress(const Address& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes.data()),
                     a.bytes.size());
}

}  // namespace

const std::vector<CatalogueItem>& Catalogue() {
  static const auto* items = new std::vector<CatalogueItem>{
      {"marmoset", "Marmoset", 120},
      {"squirrel", "Squirrel monkey", 150},
      {"macaque", "Macaque", 180},
      {"capuchin", "Capuchin", 200},
      {"tamarin", "Golden lion tamarin", 250},
      {"spider", "Spider monkey", 280},
      {"howler", "Howler monkey", 300},
      {"uakari", "Bald uakari", 320},
      {"baboon", "Baboon", 350},
      {"proboscis", "Proboscis monkey", 400},
      {"mandrill", "Mandrill", 450},
      {"snub-nosed", "Golden snub-nosed monkey", 500},
  };
  return *items;
}

const CatalogueItem* FindItem(std::string_view text) {
  const std::vector<CatalogueItem>& items = Catalogue();
  uint64_t index = 0;
  if (absl::SimpleAtoi(AV(text), &index) && !text.empty() &&
      absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    if (index >= 1 && index <= items.size()) return &items[index - 1];
    return nullptr;
  }
  for (const CatalogueItem& item : items) {
    if (absl::EqualsIgnoreCase(item.id, AV(text)) ||
        absl::EqualsIgnoreCase(item.name, AV(text))) {
      return &item;
    }
  }
  return nullptr;
}

absl::StatusOr<ShopNamespaces> NamespacesFor(std::string_view name) {
  PBCHAIN_RETURN_IF_ERROR(
      CheckNamespacePart(name, "shop name", kMaxShopNameLen));
  if (absl::StrContains(AV(name), '.')) {
    return absl::InvalidArgumentError(
        absl::StrCat("shop name must be 1..", kMaxShopNameLen,
                     " chars of [a-z0-9_-] (no '.'), got '", AV(name), "'"));
  }
  ShopNamespaces ns;
  ns.shop = absl::StrCat("shop.", AV(name));
  ns.shoppers = absl::StrCat(ns.shop, ".shoppers");
  ns.orders = absl::StrCat(ns.shop, ".orders");
  return ns;
}

absl::Status CheckShopperName(std::string_view name) {
  return CheckLabel(name, "shopper name", kMaxShopperNameBytes);
}

absl::StatusOr<uint64_t> OrderCost(const CatalogueItem& item, uint64_t qty) {
  if (qty == 0 || qty > kMaxOrderQuantity) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity must be 1..", kMaxOrderQuantity, ", got ", qty));
  }
  if (item.price != 0 &&
      qty > std::numeric_limits<uint64_t>::max() / item.price) {
    return absl::InvalidArgumentError("quantity * price overflows");
  }
  return qty * item.price;
}

uint64_t AffordableQuantity(const CatalogueItem& item, uint64_t available,
                            uint64_t fee) {
  if (available <= fee || item.price == 0) return 0;
  return std::min<uint64_t>((available - fee) / item.price, kMaxOrderQuantity);
}

absl::Status CheckAffordable(const CatalogueItem& item, uint64_t qty,
                             uint64_t fee, uint64_t available,
                             uint64_t pending) {
  PBCHAIN_ASSIGN_OR_RETURN(uint64_t cost, OrderCost(item, qty));
  const bool fee_overflows = cost > std::numeric_limits<uint64_t>::max() - fee;
  if (!fee_overflows && cost + fee <= available) return absl::OkStatus();
  std::string message =
      absl::StrCat("Not enough coins: ", qty, " x ", item.name, " cost ", cost);
  if (cost <= available && fee > 0)
    absl::StrAppend(&message, " plus fee ", fee);
  absl::StrAppend(&message, ", you have ", available);
  if (pending > 0) {
    absl::StrAppend(&message, " (", available + pending, " confirmed, ",
                    pending, " pending in the mempool)");
  }
  return absl::FailedPreconditionError(message);
}

std::string OrderKey(const Address& shopper, uint64_t nonce) {
  return absl::StrCat(shopper.ToText(), "/", nonce);
}

std::string OrderPayload(const CatalogueItem& item, uint64_t qty) {
  nlohmann::ordered_json j;  // keys in the documented order
  j["item"] = item.id;
  j["qty"] = qty;
  j["price"] = item.price;
  return j.dump();
}

std::string ShopperPayload(std::string_view name) {
  Json j;
  j["name"] = std::string(name);
  return j.dump();
}

absl::StatusOr<Order> VerifyOrder(const v1::RecordEntry& entry,
                                  const v1::Transaction& tx,
                                  const std::string& orders_ns,
                                  const Address& owner) {
  auto bad = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  const v1::DataRecord& r = entry.record();
  if (r.namespace_() != orders_ns) return bad("not in ", orders_ns);
  std::optional<Address> sender = SenderOf(tx);
  if (!sender) return bad("not carried by a transfer");
  if (!entry.sender_address().empty()) {
    std::optional<Address> listed = AddressOf(entry.sender_address());
    if (!listed || *listed != *sender) return bad("sender mismatch");
  }
  if (!tx.has_record() || tx.record().namespace_() != r.namespace_() ||
      tx.record().has_key() != r.has_key() || tx.record().key() != r.key() ||
      tx.record().payload() != r.payload()) {
    return bad("transaction does not carry this record");
  }
  // A keyed order (as pbshop wrote them before orders became keyless) must
  // name its own transaction's sender and nonce.
  if (r.has_key()) {
    const std::string& key = r.key();
    const size_t slash = key.find('/');
    if (slash == std::string::npos) return bad("key is not ADDRESS/NONCE");
    std::optional<Address> key_addr = AddressOf(key.substr(0, slash));
    uint64_t key_nonce = 0;
    const std::string nonce_text = key.substr(slash + 1);
    if (!key_addr || nonce_text.empty() ||
        !absl::ascii_isdigit(static_cast<unsigned char>(nonce_text[0])) ||
        !absl::SimpleAtoi(nonce_text, &key_nonce) ||
        absl::StrCat(key_nonce) != nonce_text) {
      return bad("key is not ADDRESS/NONCE");
    }
    if (*sender != *key_addr)
      return bad("key names another address than the sender");
    if (tx.nonce() != key_nonce)
      return bad("key nonce is not the transaction's");
  }
  if (tx.recipient() != RawAddress(owner)) return bad("not paid to the owner");

  Json j = Json::parse(r.payload(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("item") || !j["item"].is_string() ||
      !j.contains("qty") || !j["qty"].is_number_unsigned() ||
      !j.contains("price") || !j["price"].is_number_unsigned()) {
    return bad("payload is not {\"item\", \"qty\", \"price\"}");
  }
  const std::string item_id = j["item"].get<std::string>();
  const CatalogueItem* item = nullptr;
  for (const CatalogueItem& c : Catalogue()) {
    if (c.id == item_id) item = &c;
  }
  if (item == nullptr) return bad("unknown item '", item_id, "'");
  const uint64_t qty = j["qty"].get<uint64_t>();
  const uint64_t price = j["price"].get<uint64_t>();
  if (price != item->price) {
    return bad("price ", price, " is not the catalogue price ", item->price);
  }
  absl::StatusOr<uint64_t> cost = OrderCost(*item, qty);
  if (!cost.ok()) return bad(cost.status().message());
  if (tx.amount() != *cost) {
    return bad("paid ", tx.amount(), " instead of ", *cost);
  }
  Order order;
  order.shopper = sender->ToText();
  order.item = item->id;
  order.qty = qty;
  order.price = price;
  order.paid = tx.amount();
  order.fee = tx.fee();
  order.txid = TxidText(entry.txid());
  order.block_height = entry.block_height();
  return order;
}

absl::StatusOr<Shopper> ParseShopperRecord(const v1::RecordEntry& entry,
                                           const Address& owner) {
  const v1::DataRecord& r = entry.record();
  std::optional<Address> sender = AddressOf(entry.sender_address());
  if (!sender || *sender != owner) {
    return absl::InvalidArgumentError("not written by the shop owner");
  }
  if (!r.has_key()) return absl::InvalidArgumentError("no key");
  std::optional<Address> who = AddressOf(r.key());
  if (!who) return absl::InvalidArgumentError("key is not an address");
  Json j = Json::parse(r.payload(), nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return absl::InvalidArgumentError("payload is not {\"name\"}");
  }
  Shopper s;
  s.address = who->ToText();
  s.name = j["name"].get<std::string>();
  s.block_height = entry.block_height();
  s.txid = TxidText(entry.txid());
  return s;
}

absl::StatusOr<Address> ParseOwnerRecord(const v1::RecordEntry& entry) {
  std::optional<Address> sender = AddressOf(entry.sender_address());
  std::optional<Address> claimed = AddressOf(entry.record().payload());
  if (!sender || !claimed || *sender != *claimed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the owner record of ", entry.record().namespace_(),
        " is malformed (written by ",
        entry.sender_address().empty() ? "a coinbase" : entry.sender_address(),
        ", payload '", client::PayloadForDisplay(entry.record().payload()),
        "'); this shop name cannot be used, pick another --shop"));
  }
  return *sender;
}

absl::StatusOr<ShopClient> ShopClient::Create(client::NodeClient& node,
                                              std::string_view name) {
  PBCHAIN_ASSIGN_OR_RETURN(ShopNamespaces ns, NamespacesFor(name));
  return ShopClient(node, std::string(name), std::move(ns));
}

absl::StatusOr<ShopInfo> ShopClient::Info() {
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<v1::RecordEntry> rec,
                           FindRecord(*node_, ns_.shop, kOwnerKey));
  if (!rec.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("shop '", name_,
                     "' is not open on this chain (the owner runs "
                     "`pbshop open --shop ",
                     name_, "` first)"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(Address owner, ParseOwnerRecord(*rec));
  ShopInfo info;
  info.name = name_;
  info.ns = ns_;
  info.owner = owner;
  info.opened_height = rec->block_height();
  info.open_txid = TxidText(rec->txid());
  return info;
}

absl::StatusOr<Funds> ShopClient::GetFunds(const Address& who) {
  PBCHAIN_ASSIGN_OR_RETURN(v1::GetAccountResponse account,
                           node_->GetAccount(who));
  Funds f;
  f.balance = account.account().balance();
  f.nonce = account.account().nonce();
  f.pending_nonce = account.pending_nonce();
  f.height = account.height();
  if (f.pending_nonce > f.nonce) {
    PBCHAIN_ASSIGN_OR_RETURN(v1::GetMempoolResponse pool,
                             node_->GetMempool(1000));
    for (const v1::MempoolEntry& e : pool.entries()) {
      std::optional<Address> sender = SenderOf(e.transaction());
      if (!sender || *sender != who) continue;
      const uint64_t spend = e.transaction().amount() + e.transaction().fee();
      f.pending_spend =
          spend > std::numeric_limits<uint64_t>::max() - f.pending_spend
              ? std::numeric_limits<uint64_t>::max()
              : f.pending_spend + spend;
    }
  }
  f.available = f.balance > f.pending_spend ? f.balance - f.pending_spend : 0;
  return f;
}

absl::StatusOr<OpenResult> ShopClient::Open(const client::Wallet& owner,
                                            const ShopWriteOptions& options) {
  OpenResult result;
  absl::StatusOr<ShopInfo> info = Info();
  if (info.ok()) {
    if (info->owner != owner.address) {
      return absl::FailedPreconditionError(absl::StrCat(
          "shop '", name_, "' is already owned by ", info->owner.ToText(),
          " (opened in block ", info->opened_height, ")"));
    }
    result.already_open = true;
    return result;
  }
  if (info.status().code() != absl::StatusCode::kNotFound) {
    return info.status();
  }
  client::TransferRequest request;
  request.recipient = owner.address;
  request.fee = options.fee;
  request.record = client::MakeRecord(ns_.shop, std::string(kOwnerKey),
                                      owner.address.ToText());
  PBCHAIN_ASSIGN_OR_RETURN(
      client::WriteResult write,
      client::SendTransfer(*node_, owner.key, request, options.wait,
                           options.progress));
  if (write.outcome == client::Outcome::kRejected &&
      IsDuplicateRecordReason(write.reason)) {
    absl::StatusOr<ShopInfo> now = Info();
    if (now.ok() && now->owner == owner.address) {
      result.already_open = true;
      return result;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "shop '", name_, "' was opened by someone else first",
        now.ok() ? absl::StrCat(" (", now->owner.ToText(), ")") : ""));
  }
  result.write = write;
  return result;
}

absl::StatusOr<RegisterResult> ShopClient::Register(
    const client::Wallet& owner, const Address& shopper, std::string_view name,
    const ShopWriteOptions& options) {
  PBCHAIN_RETURN_IF_ERROR(CheckShopperName(name));
  PBCHAIN_ASSIGN_OR_RETURN(ShopInfo info, Info());
  if (info.owner != owner.address) {
    return absl::PermissionDeniedError(absl::StrCat(
        "only the owner of shop '", name_, "' (", info.owner.ToText(),
        ") can register shoppers; this wallet is ", owner.address.ToText()));
  }
  if (shopper == owner.address) {
    return absl::InvalidArgumentError(
        "the shop owner cannot register itself as a shopper");
  }
  auto already = [&](const v1::RecordEntry& e) {
    absl::StatusOr<Shopper> s = ParseShopperRecord(e, info.owner);
    return absl::AlreadyExistsError(
        absl::StrCat("Shopper ", shopper.ToText(), " is already registered",
                     s.ok() ? absl::StrCat(" as '", s->name, "'") : "",
                     " (block ", e.block_height(), "); an address gets its ",
                     kShopperGrant, " coins only once"));
  };
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<v1::RecordEntry> existing,
                           FindRecord(*node_, ns_.shoppers, shopper.ToText()));
  if (existing.has_value()) return already(*existing);

  PBCHAIN_ASSIGN_OR_RETURN(Funds funds, GetFunds(owner.address));
  if (funds.available < kShopperGrant ||
      funds.available - kShopperGrant < options.fee) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Not enough coins: registering a shopper gives ", kShopperGrant,
        " plus fee ", options.fee, ", the owner has ", funds.available));
  }
  client::TransferRequest request;
  request.recipient = shopper;
  request.amount = kShopperGrant;
  request.fee = options.fee;
  request.record =
      client::MakeRecord(ns_.shoppers, shopper.ToText(), ShopperPayload(name));
  PBCHAIN_ASSIGN_OR_RETURN(
      client::WriteResult write,
      client::SendTransfer(*node_, owner.key, request, options.wait,
                           options.progress));
  if (write.outcome == client::Outcome::kRejected &&
      IsDuplicateRecordReason(write.reason)) {
    absl::StatusOr<std::optional<v1::RecordEntry>> now =
        FindRecord(*node_, ns_.shoppers, shopper.ToText());
    if (now.ok() && now->has_value()) return already(**now);
    return absl::AlreadyExistsError(absl::StrCat(
        "Shopper ", shopper.ToText(),
        " is already being registered (a registration is pending)"));
  }
  RegisterResult result;
  result.shopper.address = shopper.ToText();
  result.shopper.name = std::string(name);
  result.shopper.txid = TxidText(write.txid);
  result.shopper.block_height = write.block_height;
  result.write = write;
  return result;
}

absl::StatusOr<BuyResult> ShopClient::Buy(const client::Wallet& shopper,
                                          const CatalogueItem& item,
                                          uint64_t qty,
                                          const ShopWriteOptions& options) {
  PBCHAIN_ASSIGN_OR_RETURN(uint64_t cost, OrderCost(item, qty));
  PBCHAIN_ASSIGN_OR_RETURN(ShopInfo info, Info());
  if (info.owner == shopper.address) {
    return absl::InvalidArgumentError(
        "the shop owner cannot buy from its own shop");
  }
  PBCHAIN_ASSIGN_OR_RETURN(Funds funds, GetFunds(shopper.address));
  PBCHAIN_RETURN_IF_ERROR(CheckAffordable(
      item, qty, options.fee, funds.available, funds.pending_spend));
  BuyResult result;
  result.item = &item;
  result.qty = qty;
  result.cost = cost;
  result.fee = options.fee;
  result.before = funds;
  client::TransferRequest request;
  request.recipient = info.owner;
  request.amount = cost;
  request.fee = options.fee;
  request.nonce = funds.pending_nonce;
  // Keyless: nobody can take the record's place beforehand (a keyed record
  // is write-once, and a predictable key could be written first by anyone).
  request.record =
      client::MakeRecord(ns_.orders, std::nullopt, OrderPayload(item, qty));
  PBCHAIN_ASSIGN_OR_RETURN(
      client::WriteResult write,
      client::SendTransfer(*node_, shopper.key, request, options.wait,
                           options.progress));
  result.write = write;
  return result;
}

absl::StatusOr<Inventory> ShopClient::GetInventory(const Address& who) {
  PBCHAIN_ASSIGN_OR_RETURN(ShopInfo info, Info());
  Inventory inv;
  inv.address = who.ToText();
  PBCHAIN_ASSIGN_OR_RETURN(Funds funds, GetFunds(who));
  inv.funds = funds;
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<v1::RecordEntry> reg,
                           FindRecord(*node_, ns_.shoppers, who.ToText()));
  if (reg.has_value()) {
    absl::StatusOr<Shopper> s = ParseShopperRecord(*reg, info.owner);
    if (s.ok()) {
      inv.name = s->name;
    } else {
      inv.ignored.push_back(
          absl::StrCat("registration record: ", s.status().message()));
    }
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::vector<v1::RecordEntry> records,
                           ReadAllRecords(*node_, ns_.orders));
  for (const v1::RecordEntry& e : records) {
    // Only the orders `who` sent (the node names each record's sender);
    // VerifyOrder checks the rest against the transaction.
    std::optional<Address> sender = AddressOf(e.sender_address());
    if (!sender || *sender != who) continue;
    const std::string label = OrderLabel(e);
    absl::StatusOr<Hash256> txid = Hash256::FromBytes(AsBytes(e.txid()));
    if (!txid.ok()) {
      inv.ignored.push_back(absl::StrCat("order ", label, ": bad txid"));
      continue;
    }
    PBCHAIN_ASSIGN_OR_RETURN(v1::GetTransactionResponse tx,
                             node_->GetTransaction(*txid));
    absl::StatusOr<Order> order =
        VerifyOrder(e, tx.transaction(), ns_.orders, info.owner);
    if (!order.ok()) {
      inv.ignored.push_back(
          absl::StrCat("order ", label, ": ", order.status().message()));
      continue;
    }
    inv.items[order->item] += order->qty;
    inv.spent += order->paid;
    inv.orders.push_back(*std::move(order));
  }
  return inv;
}

absl::StatusOr<std::vector<Shopper>> ShopClient::Shoppers() {
  PBCHAIN_ASSIGN_OR_RETURN(ShopInfo info, Info());
  PBCHAIN_ASSIGN_OR_RETURN(std::vector<v1::RecordEntry> records,
                           ReadAllRecords(*node_, ns_.shoppers));
  std::vector<Shopper> out;
  for (const v1::RecordEntry& e : records) {
    absl::StatusOr<Shopper> s = ParseShopperRecord(e, info.owner);
    if (s.ok()) out.push_back(*std::move(s));
  }
  return out;
}

}  // namespace pbchain::apps
