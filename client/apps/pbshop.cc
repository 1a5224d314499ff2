// pbshop: the monkey shop on a pbchain network. The owner opens the shop and
// registers shoppers (1000 coins each); shoppers buy monkeys with coins.
// Everything is read from the chain, so every node shows the same shop. See
// kUsage and client/apps/shop.h (record layout).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/apps/app_cli.h"
#include "client/apps/shop.h"
#include "client/cli_app.h"
#include "client/format.h"
#include "client/node_client.h"
#include "client/wallet.h"
#include "common/exit_codes.h"
#include "nlohmann/json.hpp"

namespace pbchain::apps {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kUsage[] =
    R"USAGE(pbshop: a monkey shop on a pbchain network, read from the chain

Usage: pbshop [OPTIONS]                          interactive mode (the default)
       pbshop [OPTIONS] interactive              the same
       pbshop [OPTIONS] COMMAND [ARGS]
       pbshop help COMMAND                       one command in detail (the
                                                 same: pbshop COMMAND --help)

Commands:
  open                       (owner) open the shop: the wallet becomes its owner.
                             The first wallet to open a name owns it on this
                             chain; opening again with the owner's wallet is a
                             no-op
  catalogue [ADDRESS]        the monkeys for sale with their prices, how many a
                             new shopper's 1000 coins buy, and how many ADDRESS
                             (default: the wallet's, if the file exists) can buy
  register NAME              (owner) register a shopper: sends it 1000 coins with
                             a registration record. The shopper's wallet is
                             --shopper-wallet FILE (default shopper-NAME.json),
                             created if missing, or give --shopper-address
                             ADDR. Each address can be registered once
  buy ITEM [QTY]             (shopper) buy QTY (default 1) of ITEM (catalogue
                             number, id or name): pays QTY x price to the owner
                             with an order record, then waits for its block.
                             Refused before anything is sent when the wallet
                             lacks the coins: "Not enough coins: 3 x Capuchin
                             cost 600, you have 400"
  inventory [ADDRESS]        balance and monkeys bought (default: the wallet's).
                             An order counts only if its transaction paid
                             QTY x the catalogue price to the owner
  shoppers                   the registered shoppers
  info                       the shop's owner and record namespaces

Interactive mode shows a numbered menu and reads standard input line by line
(a terminal or a pipe; end of input = quit). When standard input is not a
terminal, each line read is echoed after its prompt.

On the chain (shop NAME): namespace "shop.NAME" key "owner" (the owner's
address), "shop.NAME.shoppers" key = shopper address (payload {"name"}),
"shop.NAME.orders" without a key (payload {"item", "qty", "price"}, in the
purchase's transfer to the owner). Records with a key are write-once.

Options (before or after the command):
  --node HOST:PORT       node to talk to (default $PBCHAIN_NODE, else
                         127.0.0.1:7701)
  --wallet FILE          the owner's or shopper's wallet (default
                         $PBCHAIN_WALLET, else ./wallet.json)
  --passphrase-file F    the passphrase of encrypted wallets is the first
                         line of F (else $PBCHAIN_PASSPHRASE, else asked on
                         the terminal); register encrypts a new shopper
                         wallet with it when there is one
  --tls-ca FILE          TLS to the node, trusting the CA in FILE (default
                         $PBCHAIN_TLS_CA); --tls-client-cert FILE and
                         --tls-client-key FILE for mutual TLS
  --shop NAME            shop name, 1..50 chars of [a-z0-9_-] (default monkeys)
  --shopper-wallet FILE  register: the new shopper's wallet file
  --shopper-address ADDR register: an existing address instead of a wallet
  --fee F                fee in base units (register and buy: default 1;
                         open: default 0)
  --wait-timeout T       how long to wait for a block (default 60s; T =
                         seconds, or 500ms, 10s, 2m); then exit 3
  --timeout T            deadline of each call to the node (default 10s)
  --json                 commands print one JSON object
  -h, --help             this text
  --version              print "pbshop VERSION" and exit

Examples:
  pbshop --wallet owner.json open
  pbshop --wallet owner.json register alice --shopper-wallet alice.json
  pbshop --wallet alice.json catalogue
  pbshop --wallet alice.json buy capuchin 2
  pbshop --wallet alice.json inventory --json
  printf '2\ncapuchin\n1\n3\n\nq\n' | pbshop --wallet alice.json

Exit codes:
  0  success; a write confirmed
  1  refused (not enough coins, already registered, not the owner, shop not
     open), rejected by the node (its reason is printed), or a runtime
     failure such as an unreachable node
  2  bad usage or bad input (unknown option or item, bad quantity or address)
  3  a write still pending when the wait ended (it may still be mined)
  (interactive: the code of the last action that failed, else 0)
)USAGE";

// pbshop --help, and one text per command (pbshop help COMMAND).
const pbchain::cli::HelpTexts& HelpTexts() {
  static const auto* texts = new pbchain::cli::HelpTexts{
      {"", kUsage},
      {"interactive", R"TXT(pbshop [OPTIONS] [interactive]
  The default: a numbered menu (1) catalogue 2) buy 3) inventory 4) shoppers
  5) register a shopper (owner) 6) open the shop (owner) q) quit), then the
  details it needs, read from standard input line by line (a terminal or a
  pipe; end of input = quit). When standard input is not a terminal, each
  line read is echoed after its prompt. Exit code: that of the last action
  that failed, else 0. Options: see pbshop --help.
  Example: printf '2\ncapuchin\n1\n3\n\nq\n' | pbshop --wallet alice.json
)TXT"},
      {"open", R"TXT(pbshop [OPTIONS] open
  (owner) Opens the shop: the wallet becomes its owner. The first wallet to
  open a name owns it on this chain; opening again with the owner's wallet
  is a no-op. Fee default 0. Options: see pbshop --help.
  Example: pbshop --wallet owner.json open
  --json: {"shop", "owner", "already_open", "block_height", "txid"}
)TXT"},
      {"catalogue", R"TXT(pbshop [OPTIONS] catalogue [ADDRESS]
  The monkeys for sale with their prices, how many a new shopper's 1000
  coins buy, and how many ADDRESS (default: the wallet's, if the file
  exists) can buy. Options: see pbshop --help.
  Example: pbshop --wallet alice.json catalogue
  --json: {"shop", "address", "available", "fee", "items": [{"number",
          "id", "name", "price", "new_shopper_can_buy", "you_can_buy"}]}
)TXT"},
      {"register",
       R"TXT(pbshop [OPTIONS] register NAME [--shopper-wallet FILE | --shopper-address ADDR]
  (owner) Registers a shopper: sends it 1000 coins with a registration
  record. The shopper's wallet is --shopper-wallet FILE (default
  shopper-NAME.json), created if missing, or give --shopper-address ADDR.
  Each address can be registered once. Fee default 1. Options: see
  pbshop --help.
  Example: pbshop --wallet owner.json register alice --shopper-wallet alice.json
  --json: {"shop", "name", "address", "wallet", "wallet_created", "grant",
          "txid", "block_height"}
)TXT"},
      {"buy", R"TXT(pbshop [OPTIONS] buy ITEM [QTY]
  (shopper) Buys QTY (default 1) of ITEM (catalogue number, id or name):
  pays QTY x price to the owner with an order record, then waits for its
  block. Refused before anything is sent when the wallet lacks the coins:
  "Not enough coins: 3 x Capuchin cost 600, you have 400". Fee default 1.
  Options: see pbshop --help.
  Example: pbshop --wallet alice.json buy capuchin 2
  --json: {"shop", "item", "qty", "price", "cost", "fee", "txid",
          "block_height", "balance"}
)TXT"},
      {"inventory", R"TXT(pbshop [OPTIONS] inventory [ADDRESS]
  Balance and monkeys bought of ADDRESS (default: the wallet's). An order
  counts only if its transaction paid QTY x the catalogue price to the
  owner. Options: see pbshop --help.
  Example: pbshop --wallet alice.json inventory --json
  --json: {"shop", "address", "name", "balance", "available", "height",
          "items": {ITEM: QTY}, "spent", "orders": [{"item", "qty",
          "price", "paid", "fee", "txid", "block_height"}], "ignored"}
)TXT"},
      {"shoppers", R"TXT(pbshop [OPTIONS] shoppers
  The registered shoppers of the shop. Options: see pbshop --help.
  Example: pbshop shoppers
  --json: {"shop", "shoppers": [{"name", "address", "block_height", "txid"}]}
)TXT"},
      {"info", R"TXT(pbshop [OPTIONS] info
  The shop's owner and record namespaces. Options: see pbshop --help.
  Example: pbshop --shop monkeys info
  --json: {"shop", "owner", "opened_height", "open_txid", "namespaces":
          {"shop", "shoppers", "orders"}}
)TXT"},
  };
  return *texts;
}

class ShopApp {
 public:
  ShopApp() = default;
  // Parses the command line and runs its command; returns the exit code.
  int Run(int argc, char** argv);

 private:
  // Prints `message` (stderr; stdout in interactive mode, where it is part
  // of the dialogue) and returns `code`.
  int Fail(int code, absl::string_view message) {
    if (interactive_) {
      std::cout << message << std::endl;
    } else {
      std::cerr << "pbshop: " << message << "\n";
    }
    return code;
  }
  int FailStatus(const absl::Status& s) {
    return Fail(cli::ExitCodeFor(s), s.message());
  }
  const std::string& WalletPath() const { return options_.wallet; }
  // Loads --wallet into wallet_ (once).
  absl::Status LoadWallet();
  // Reports a write that was not confirmed; 0 if it was.
  int ReportUnconfirmed(const client::WriteResult& w, absl::string_view what);
  std::optional<Address> AddressArg(const std::string& text, int& rc);

  int Open();
  int CatalogueCmd(const std::string& address_text);
  int Register(const std::string& name, const std::string& wallet_file,
               const std::string& address_text);
  int Buy(const std::string& item_text, const std::string& qty_text);
  int InventoryCmd(const std::string& address_text);
  int ShoppersCmd();
  int InfoCmd();
  int Interactive();

  CLI::App app_;
  pbchain::cli::CommandLine line_{app_, "pbshop", HelpTexts()};
  cli::CommonOptions options_;
  std::optional<std::string> shop_name_;
  std::optional<std::string> shopper_wallet_;
  std::optional<std::string> shopper_address_;
  std::vector<std::string> pos_;  // the command's arguments
  bool interactive_ = false;
  std::unique_ptr<client::NodeClient> node_;
  std::optional<ShopClient> shop_;
  std::optional<client::Wallet> wallet_;
  client::WaitOptions wait_;
};

absl::Status ShopApp::LoadWallet() {
  if (wallet_) return absl::OkStatus();
  absl::StatusOr<client::Wallet> w =
      cli::LoadWallet(options_, WalletPath(), "pbshop");
  if (!w.ok()) {
    // A missing wallet is bad input (exit 2), like pbcli.
    if (w.status().code() == absl::StatusCode::kNotFound) {
      return absl::InvalidArgumentError(w.status().message());
    }
    return w.status();
  }
  wallet_ = *std::move(w);
  return absl::OkStatus();
}

int ShopApp::ReportUnconfirmed(const client::WriteResult& w,
                               absl::string_view what) {
  switch (w.outcome) {
    case client::Outcome::kConfirmed:
    case client::Outcome::kAccepted:
      return kExitOk;
    case client::Outcome::kRejected:
      return Fail(kExitFailure,
                  absl::StrCat(what, " rejected by the node: ", w.reason));
    case client::Outcome::kPending:
      return Fail(
          kExitPending,
          absl::StrCat(what, " still pending (txid ", w.txid.ToDisplayHex(),
                       "): ", w.reason, "; it may still be mined"));
  }
  return kExitFailure;
}

std::optional<Address> ShopApp::AddressArg(const std::string& text, int& rc) {
  if (!text.empty()) {
    absl::StatusOr<Address> a = client::ParseAddress(text, "address");
    if (!a.ok()) {
      rc = FailStatus(a.status());
      return std::nullopt;
    }
    return *a;
  }
  if (absl::Status s = LoadWallet(); !s.ok()) {
    rc = FailStatus(s);
    return std::nullopt;
  }
  return wallet_->address;
}

int ShopApp::Open() {
  if (absl::Status s = LoadWallet(); !s.ok()) return FailStatus(s);
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, kDefaultOpenFee);
  if (!fee.ok()) return FailStatus(fee.status());
  ShopWriteOptions options;
  options.fee = *fee;
  options.wait = wait_;
  absl::StatusOr<OpenResult> r = shop_->Open(*wallet_, options);
  if (!r.ok()) return FailStatus(r.status());
  if (!r->already_open) {
    if (int rc = ReportUnconfirmed(r->write, "open"); rc != kExitOk) return rc;
  }
  absl::StatusOr<ShopInfo> info = shop_->Info();
  if (!info.ok()) return FailStatus(info.status());
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    j["owner"] = info->owner.ToText();
    j["already_open"] = r->already_open;
    j["block_height"] = info->opened_height;
    j["txid"] = info->open_txid;
    std::cout << j.dump() << std::endl;
  } else if (r->already_open) {
    std::cout << "Shop '" << shop_->name()
              << "' is already yours (opened in block " << info->opened_height
              << ")" << std::endl;
  } else {
    std::cout << "Shop '" << shop_->name() << "' opened by "
              << info->owner.ToText() << " (block " << info->opened_height
              << ")" << std::endl;
  }
  return kExitOk;
}

int ShopApp::CatalogueCmd(const std::string& address_text) {
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, kDefaultShopFee);
  if (!fee.ok()) return FailStatus(fee.status());
  std::optional<Address> who;
  if (!address_text.empty()) {
    int rc = kExitOk;
    who = AddressArg(address_text, rc);
    if (!who) return rc;
  } else if (LoadWallet().ok()) {
    who = wallet_->address;
  }
  std::optional<Funds> funds;
  if (who) {
    absl::StatusOr<Funds> f = shop_->GetFunds(*who);
    if (!f.ok()) return FailStatus(f.status());
    funds = *f;
  }
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    if (who) {
      j["address"] = who->ToText();
      j["available"] = funds->available;
    }
    j["fee"] = *fee;
    j["items"] = Json::array();
    int n = 0;
    for (const CatalogueItem& item : Catalogue()) {
      Json i;
      i["number"] = ++n;
      i["id"] = item.id;
      i["name"] = item.name;
      i["price"] = item.price;
      i["new_shopper_can_buy"] = AffordableQuantity(item, kShopperGrant, *fee);
      if (funds)
        i["you_can_buy"] = AffordableQuantity(item, funds->available, *fee);
      j["items"].push_back(i);
    }
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Catalogue of shop '" << shop_->name() << "' (prices in coins; "
            << "one order also pays a fee of " << *fee << ")\n";
  std::string header = absl::StrFormat("  %2s  %-11s %-26s %6s  %10s", "#",
                                       "item", "name", "price", "with 1000");
  if (funds) absl::StrAppend(&header, absl::StrFormat("  %s", "you can buy"));
  std::cout << header << "\n";
  int n = 0;
  for (const CatalogueItem& item : Catalogue()) {
    std::string line = absl::StrFormat(
        "  %2d  %-11s %-26s %6d  %10d", ++n, item.id, item.name, item.price,
        AffordableQuantity(item, kShopperGrant, *fee));
    if (funds) {
      absl::StrAppend(
          &line, absl::StrFormat("  %11d", AffordableQuantity(
                                               item, funds->available, *fee)));
    }
    std::cout << line << "\n";
  }
  if (funds) {
    std::cout << "You (" << who->ToText() << ") have " << funds->available
              << " coins available" << std::endl;
  }
  std::cout << std::flush;
  return kExitOk;
}

int ShopApp::Register(const std::string& name, const std::string& wallet_file,
                      const std::string& address_text) {
  if (absl::Status s = CheckShopperName(name); !s.ok()) return FailStatus(s);
  if (!wallet_file.empty() && !address_text.empty()) {
    return Fail(kExitUsage,
                "give --shopper-wallet or --shopper-address, not both");
  }
  if (absl::Status s = LoadWallet(); !s.ok()) return FailStatus(s);
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, kDefaultShopFee);
  if (!fee.ok()) return FailStatus(fee.status());
  // Refusals that need no shopper address come first, so that no wallet
  // file is created for nothing.
  absl::StatusOr<ShopInfo> info = shop_->Info();
  if (!info.ok()) return FailStatus(info.status());
  if (info->owner != wallet_->address) {
    return Fail(kExitFailure,
                absl::StrCat("only the owner of shop '", shop_->name(), "' (",
                             info->owner.ToText(),
                             ") can register shoppers; this wallet is ",
                             wallet_->address.ToText()));
  }
  Address shopper;
  std::string shopper_wallet;
  bool created = false;
  if (!address_text.empty()) {
    absl::StatusOr<Address> a =
        client::ParseAddress(address_text, "--shopper-address");
    if (!a.ok()) return FailStatus(a.status());
    shopper = *a;
  } else {
    shopper_wallet = wallet_file;
    if (shopper_wallet.empty()) {
      for (char c : name) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
            c != '-') {
          return Fail(kExitUsage,
                      "the shopper name is not a plain file name; give "
                      "--shopper-wallet FILE or --shopper-address ADDR");
        }
      }
      shopper_wallet = absl::StrCat("shopper-", name, ".json");
    }
    absl::StatusOr<client::Wallet> w =
        cli::LoadOrCreateWallet(options_, shopper_wallet, "pbshop", &created);
    if (!w.ok()) return FailStatus(w.status());
    shopper = w->address;
  }
  ShopWriteOptions options;
  options.fee = *fee;
  options.wait = wait_;
  absl::StatusOr<RegisterResult> r =
      shop_->Register(*wallet_, shopper, name, options);
  if (!r.ok()) return FailStatus(r.status());
  if (int rc = ReportUnconfirmed(r->write, "registration"); rc != kExitOk) {
    return rc;
  }
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    j["name"] = name;
    j["address"] = shopper.ToText();
    j["wallet"] = shopper_wallet.empty() ? Json(nullptr) : Json(shopper_wallet);
    j["wallet_created"] = created;
    j["grant"] = kShopperGrant;
    j["txid"] = r->write.txid.ToDisplayHex();
    j["block_height"] = r->write.block_height;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Registered " << name << " (" << shopper.ToText() << "): sent "
            << kShopperGrant << " coins in block " << r->write.block_height
            << " (txid " << r->write.txid.ToDisplayHex() << ")" << std::endl;
  if (!shopper_wallet.empty()) {
    std::cout << "Shopper wallet: " << shopper_wallet
              << (created ? " (created)" : "") << std::endl;
  }
  return kExitOk;
}

int ShopApp::Buy(const std::string& item_text, const std::string& qty_text) {
  const CatalogueItem* item = FindItem(item_text);
  if (item == nullptr) {
    return Fail(kExitUsage, absl::StrCat("unknown item '", item_text,
                                         "' (see `pbshop catalogue`)"));
  }
  uint64_t qty = 1;
  if (!qty_text.empty()) {
    absl::StatusOr<uint64_t> q = client::ParseUint(qty_text, "quantity");
    if (!q.ok()) return FailStatus(q.status());
    qty = *q;
  }
  if (absl::Status s = LoadWallet(); !s.ok()) return FailStatus(s);
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, kDefaultShopFee);
  if (!fee.ok()) return FailStatus(fee.status());
  ShopWriteOptions options;
  options.fee = *fee;
  options.wait = wait_;
  absl::StatusOr<BuyResult> r = shop_->Buy(*wallet_, *item, qty, options);
  if (!r.ok()) return FailStatus(r.status());
  if (int rc = ReportUnconfirmed(r->write, "purchase"); rc != kExitOk) {
    return rc;
  }
  absl::StatusOr<Funds> after = shop_->GetFunds(wallet_->address);
  if (!after.ok()) return FailStatus(after.status());
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    j["item"] = item->id;
    j["qty"] = qty;
    j["price"] = item->price;
    j["cost"] = r->cost;
    j["fee"] = r->fee;
    j["txid"] = r->write.txid.ToDisplayHex();
    j["block_height"] = r->write.block_height;
    j["balance"] = after->balance;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Bought " << qty << " x " << item->name << " for " << r->cost
            << " coins (fee " << r->fee << ") in block "
            << r->write.block_height << "; balance now " << after->balance
            << std::endl;
  return kExitOk;
}

int ShopApp::InventoryCmd(const std::string& address_text) {
  int rc = kExitOk;
  std::optional<Address> who = AddressArg(address_text, rc);
  if (!who) return rc;
  absl::StatusOr<Inventory> inv = shop_->GetInventory(*who);
  if (!inv.ok()) return FailStatus(inv.status());
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    j["address"] = inv->address;
    j["name"] = inv->name ? Json(*inv->name) : Json(nullptr);
    j["balance"] = inv->funds.balance;
    j["available"] = inv->funds.available;
    j["height"] = inv->funds.height;
    j["items"] = Json::object();
    for (const auto& [id, qty] : inv->items) j["items"][id] = qty;
    j["spent"] = inv->spent;
    j["orders"] = Json::array();
    for (const Order& o : inv->orders) {
      j["orders"].push_back({{"item", o.item},
                             {"qty", o.qty},
                             {"price", o.price},
                             {"paid", o.paid},
                             {"fee", o.fee},
                             {"txid", o.txid},
                             {"block_height", o.block_height}});
    }
    j["ignored"] = inv->ignored;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Shopper " << (inv->name ? *inv->name : "(not registered)")
            << " (" << inv->address << ") in shop '" << shop_->name() << "'\n";
  std::cout << "Balance: " << inv->funds.balance << " coins (height "
            << inv->funds.height << ")";
  if (inv->funds.pending_spend > 0) {
    std::cout << ", " << inv->funds.pending_spend << " pending in the mempool";
  }
  std::cout << "\n";
  if (inv->items.empty()) {
    std::cout << "Items: none\n";
  } else {
    std::cout << "Items:\n";
    for (const auto& [id, qty] : inv->items) {
      const CatalogueItem* item = FindItem(id);
      std::cout << "  " << qty << " x " << (item ? item->name : id) << "\n";
    }
  }
  std::cout << "Orders: " << inv->orders.size() << ", spent " << inv->spent
            << " coins\n";
  for (const std::string& why : inv->ignored) {
    std::cout << "  not counted: " << why << "\n";
  }
  std::cout << std::flush;
  return kExitOk;
}

int ShopApp::ShoppersCmd() {
  absl::StatusOr<std::vector<Shopper>> list = shop_->Shoppers();
  if (!list.ok()) return FailStatus(list.status());
  if (options_.json) {
    Json j;
    j["shop"] = shop_->name();
    j["shoppers"] = Json::array();
    for (const Shopper& s : *list) {
      j["shoppers"].push_back({{"name", s.name},
                               {"address", s.address},
                               {"block_height", s.block_height},
                               {"txid", s.txid}});
    }
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Shoppers of shop '" << shop_->name() << "':\n";
  for (const Shopper& s : *list) {
    std::cout << "  " << s.name << "  " << s.address << "  (block "
              << s.block_height << ")\n";
  }
  std::cout << "Total: " << list->size() << " shopper"
            << (list->size() == 1 ? "" : "s") << std::endl;
  return kExitOk;
}

int ShopApp::InfoCmd() {
  absl::StatusOr<ShopInfo> info = shop_->Info();
  if (!info.ok()) return FailStatus(info.status());
  if (options_.json) {
    Json j;
    j["shop"] = info->name;
    j["owner"] = info->owner.ToText();
    j["opened_height"] = info->opened_height;
    j["open_txid"] = info->open_txid;
    j["namespaces"] = {{"shop", info->ns.shop},
                       {"shoppers", info->ns.shoppers},
                       {"orders", info->ns.orders}};
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Shop '" << info->name << "'\n"
            << "  owner:      " << info->owner.ToText() << " (opened in block "
            << info->opened_height << ")\n"
            << "  namespaces: " << info->ns.shop << ", " << info->ns.shoppers
            << ", " << info->ns.orders << std::endl;
  return kExitOk;
}

int ShopApp::Interactive() {
  std::cout << "pbshop: shop '" << shop_->name() << "' on node "
            << node_->address() << ", wallet " << WalletPath();
  if (LoadWallet().ok()) std::cout << " (" << wallet_->address.ToText() << ")";
  std::cout << "\n";
  constexpr char kMenu[] =
      "Menu: 1) catalogue  2) buy  3) inventory  4) shoppers  "
      "5) register a shopper (owner)  6) open the shop (owner)  q) quit";
  cli::LineReader in;
  interactive_ = true;
  int last_failure = kExitOk;
  std::cout << kMenu << std::endl;
  while (true) {
    std::optional<std::string> line = in.Ask("Choose an option (1-6, q):");
    if (!line) break;
    const std::string option(absl::StripAsciiWhitespace(*line));
    if (option.empty()) continue;
    int code = kExitOk;
    if (option == "q" || option == "Q") break;
    if (option == "1") {
      code = CatalogueCmd("");
    } else if (option == "2") {
      std::optional<std::string> item = in.Ask("Item (number, id or name):");
      if (!item) break;
      std::optional<std::string> qty = in.Ask("Quantity [1]:");
      if (!qty) break;
      code = Buy(std::string(absl::StripAsciiWhitespace(*item)),
                 std::string(absl::StripAsciiWhitespace(*qty)));
    } else if (option == "3") {
      std::optional<std::string> addr = in.Ask("Address [yours]:");
      if (!addr) break;
      code = InventoryCmd(std::string(absl::StripAsciiWhitespace(*addr)));
    } else if (option == "4") {
      code = ShoppersCmd();
    } else if (option == "5") {
      std::optional<std::string> name = in.Ask("Shopper name:");
      if (!name) break;
      const std::string n(absl::StripAsciiWhitespace(*name));
      std::optional<std::string> file =
          in.Ask(absl::StrCat("Shopper wallet file [shopper-", n, ".json]:"));
      if (!file) break;
      code = Register(n, std::string(absl::StripAsciiWhitespace(*file)), "");
    } else if (option == "6") {
      code = Open();
    } else {
      std::cout << "Unknown option '" << option << "'\n" << kMenu << std::endl;
      code = kExitUsage;
    }
    if (code != kExitOk) last_failure = code;
  }
  return last_failure;
}

int ShopApp::Run(int argc, char** argv) {
  cli::AddCommonOptions(app_, client::kDefaultWalletPath, options_);
  cli::AddValueOption(app_, "shop", "NAME", shop_name_);
  cli::AddValueOption(app_, "shopper-wallet", "FILE", shopper_wallet_);
  cli::AddValueOption(app_, "shopper-address", "ADDR", shopper_address_);
  struct Arity {
    const char* name;
    size_t min, max;
  };
  static constexpr Arity kCommands[] = {
      {"interactive", 0, 0}, {"open", 0, 0}, {"catalogue", 0, 1},
      {"register", 1, 1},    {"buy", 1, 2},  {"inventory", 0, 1},
      {"shoppers", 0, 0},    {"info", 0, 0}};
  for (const Arity& a : kCommands) line_.AddCommand(a.name, &pos_);
  if (std::optional<int> done = line_.Parse(argc, argv)) return *done;
  const std::string command =
      line_.command() != nullptr ? line_.command()->get_name() : "interactive";
  for (const Arity& a : kCommands) {
    if (command == a.name && !line_.CheckArgCount(a.min, a.max)) {
      return kExitUsage;
    }
  }
  if ((shopper_wallet_ || shopper_address_) && command != "register") {
    return Fail(kExitUsage,
                "--shopper-wallet and --shopper-address are for register");
  }
  if (options_.json && command == "interactive") {
    return Fail(kExitUsage, "--json is for the commands, not interactive mode");
  }
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, 0);
  if (!fee.ok()) return FailStatus(fee.status());
  absl::StatusOr<client::WaitOptions> wait = cli::WaitOptionsFrom(options_);
  if (!wait.ok()) return FailStatus(wait.status());
  wait_ = *wait;
  absl::StatusOr<std::unique_ptr<client::NodeClient>> node =
      cli::ConnectNode(options_);
  if (!node.ok()) return FailStatus(node.status());
  node_ = *std::move(node);
  absl::StatusOr<ShopClient> shop =
      ShopClient::Create(*node_, shop_name_.value_or(kDefaultShopName));
  if (!shop.ok()) return FailStatus(shop.status());
  shop_.emplace(*std::move(shop));

  auto arg = [&](size_t i) {
    return i < pos_.size() ? pos_[i] : std::string();
  };
  if (command == "open") return Open();
  if (command == "catalogue") return CatalogueCmd(arg(0));
  if (command == "register") {
    return Register(arg(0), shopper_wallet_.value_or(""),
                    shopper_address_.value_or(""));
  }
  if (command == "buy") return Buy(arg(0), arg(1));
  if (command == "inventory") return InventoryCmd(arg(0));
  if (command == "shoppers") return ShoppersCmd();
  if (command == "info") return InfoCmd();
  return Interactive();
}

}  // namespace
}  // namespace pbchain::apps

int main(int argc, char** argv) {
  pbchain::client::QuietGrpcLogging();
  return pbchain::apps::ShopApp().Run(argc, argv);
}
