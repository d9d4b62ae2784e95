// Scenario "transactions": the bank transactions of the KSQL tutorial (mock_transactions.py). Value:
//   {"action": "WITHDRAWAL", "user-id": 17, "tx_id": "8c3e6f0a-...", "amount": 1234.56,
//    "timestamp": 1700000000.1}
// key: tx_id (plain string); timestamp is the event time in epoch seconds. Plain transactions are
// DEPOSIT or WITHDRAWAL (half each) of 1.00-50 000.00 by users 1-50. Fraud the tutorial looks for:
// * with probability --large-withdrawal-rate a transaction is a withdrawal of 1 000 000.01 to
//   5 000 000.00 (the "withdrawal > 1 000 000" stream);
// * --fraud-users users (drawn from the seed) make one transaction in ten: withdrawals of
//   300 000-999 999.99 each, so each sums over 5 000 000 within a day after ~10 of them (at the
//   default 100 ms step, within a few minutes of event time) without tripping the per-transaction
//   filter.

#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace sluice::gen {

namespace {

constexpr std::uint64_t user_count = 50;
constexpr double fraud_share = 0.1;

class transactions_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    command
      .add_option("--large-withdrawal-rate", large_rate_,
                  "probability that a transaction is a withdrawal over 1,000,000; 0 = never")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
    command
      .add_option("--fraud-users", fraud_user_count_,
                  "users whose withdrawals (10% of all transactions) sum over 5,000,000 a day; 0 = none")
      ->capture_default_str()
      ->check(CLI::Range(0, 50));
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    if (!fraud_users_drawn_) {
      fraud_users_drawn_ = true;
      while (fraud_users_.size() < fraud_user_count_) {
        const auto user = static_cast<std::int64_t>(1 + uniform_below(rng, user_count));
        if (std::find(fraud_users_.begin(), fraud_users_.end(), user) == fraud_users_.end())
          fraud_users_.push_back(user);
      }
    }
    bool withdrawal;
    std::int64_t user;
    std::int64_t cents;
    if (!fraud_users_.empty() && chance(rng, fraud_share)) {
      withdrawal = true;
      user = fraud_users_[uniform_below(rng, fraud_users_.size())];
      cents = 30'000'000 + static_cast<std::int64_t>(uniform_below(rng, 70'000'000));
    } else if (chance(rng, large_rate_)) {
      withdrawal = true;
      user = static_cast<std::int64_t>(1 + uniform_below(rng, user_count));
      cents = 100'000'001 + static_cast<std::int64_t>(uniform_below(rng, 400'000'000));
    } else {
      withdrawal = uniform_below(rng, 2) == 1;
      user = static_cast<std::int64_t>(1 + uniform_below(rng, user_count));
      cents = 100 + static_cast<std::int64_t>(uniform_below(rng, 4'999'901));
    }
    key.clear();
    append_uuid4(key, rng);
    value.assign(R"({"action": ")").append(withdrawal ? "WITHDRAWAL" : "DEPOSIT");
    value.append(R"(", "user-id": )");
    append_int(value, user);
    value.append(R"(, "tx_id": ")").append(key);
    value.append(R"(", "amount": )");
    append_double(value, static_cast<double>(cents) / 100.0);
    value.append(R"(, "timestamp": )");
    append_epoch_seconds(value, occurred_at_ms);
    value.push_back('}');
  }

private:
  double large_rate_ = 0.01;
  std::size_t fraud_user_count_ = 2;

  bool fraud_users_drawn_ = false;
  std::vector<std::int64_t> fraud_users_;
};

} // namespace

std::unique_ptr<scenario> make_transactions_scenario() { return std::make_unique<transactions_scenario>(); }

} // namespace sluice::gen
