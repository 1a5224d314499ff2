#include "tests/network/gossip_client.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"

namespace pbchain::nettest {

std::string RandomNodeId() {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::random_device rd;
  std::mt19937_64 rng(rd());
  std::string id;
  for (int i = 0; i < 32; ++i) id.push_back(kDigits[rng() % 16]);
  return id;
}

v1::GossipEnvelope MakeHello(const std::string& genesis_hash,
                             const std::string& node_id) {
  v1::GossipEnvelope e;
  v1::Hello* h = e.mutable_hello();
  h->set_genesis_hash(genesis_hash);
  h->set_height(0);
  h->set_tip_hash(genesis_hash);
  h->set_chain_work("1");
  h->set_node_id(node_id);
  h->set_protocol_version(1);
  h->set_role(v1::PEER_ROLE_FULL);
  h->set_user_agent("pbchain-nettest/hostile");
  return e;
}

GossipSession::GossipSession(const std::string& address)
    : stub_(v1::Gossip::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
  ctx_.set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(120));
  stream_ = stub_->Exchange(&ctx_);
  reader_ = std::thread([this] { ReadLoop(); });
}

GossipSession::~GossipSession() {
  ctx_.TryCancel();
  reader_.join();
}

void GossipSession::ReadLoop() {
  v1::GossipEnvelope msg;
  while (stream_->Read(&msg)) {
    if (msg.has_ping()) {
      v1::GossipEnvelope pong;
      pong.mutable_pong()->set_nonce(msg.ping().nonce());
      std::lock_guard<std::mutex> w(write_mu_);
      stream_->Write(pong);
    }
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(msg);
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> w(write_mu_);
  grpc::Status status = stream_->Finish();
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  finished_ = true;
  status_ = status;
  cv_.notify_all();
}

bool GossipSession::Send(const v1::GossipEnvelope& message) {
  std::lock_guard<std::mutex> w(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return false;
  }
  return stream_->Write(message);
}

std::optional<v1::GossipEnvelope> GossipSession::WaitForMessage(
    const std::function<bool(const v1::GossipEnvelope&)>& match,
    absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  size_t checked = 0;
  while (true) {
    for (; checked < received_.size(); ++checked) {
      if (match(received_[checked])) return received_[checked];
    }
    if (ended_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; checked < received_.size(); ++checked) {
        if (match(received_[checked])) return received_[checked];
      }
      return std::nullopt;
    }
  }
}

std::optional<v1::Reject> GossipSession::WaitForReject(v1::RejectCode code,
                                                       absl::Duration timeout) {
  std::optional<v1::GossipEnvelope> m = WaitForMessage(
      [code](const v1::GossipEnvelope& e) {
        return e.has_reject() && e.reject().code() == code;
      },
      timeout);
  if (!m) return std::nullopt;
  return m->reject();
}

std::optional<v1::Hello> GossipSession::WaitForHello(absl::Duration timeout) {
  std::optional<v1::GossipEnvelope> m = WaitForMessage(
      [](const v1::GossipEnvelope& e) { return e.has_hello(); }, timeout);
  if (!m) return std::nullopt;
  return m->hello();
}

bool GossipSession::PingPong(absl::Duration timeout) {
  v1::GossipEnvelope ping;
  {
    std::lock_guard<std::mutex> w(write_mu_);
    ping.mutable_ping()->set_nonce(0x5eed000000000000ull + next_nonce_++);
  }
  const uint64_t nonce = ping.ping().nonce();
  if (!Send(ping)) return false;
  return WaitForMessage(
             [nonce](const v1::GossipEnvelope& e) {
               return e.has_pong() && e.pong().nonce() == nonce;
             },
             timeout)
      .has_value();
}

bool GossipSession::WaitForEnd(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return ended_; });
}

grpc::Status GossipSession::final_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::string GossipSession::ReceivedSummary() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = absl::StrCat(received_.size(), " messages:");
  int pongs = 0;
  for (const v1::GossipEnvelope& e : received_) {
    if (e.has_pong()) {
      ++pongs;
      continue;
    }
    std::string text;
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.SetTruncateStringFieldLongerThan(40);
    printer.PrintToString(e, &text);
    absl::StrAppend(&out, " {", text, "}");
  }
  absl::StrAppend(&out, " +", pongs, " pongs");
  if (ended_) {
    absl::StrAppend(&out, "; ended with ", status_.error_code(), " ",
                    status_.error_message());
  }
  return out;
}

int GossipSession::pongs_received() {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const v1::GossipEnvelope& e : received_) n += e.has_pong() ? 1 : 0;
  return n;
}

}  // namespace pbchain::nettest
