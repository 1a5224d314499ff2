#include "common/status.h"

#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

TEST(StatusTest, AbslAndGrpcCodesRoundTrip) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  for (int code = 1; code <= 16; ++code) {
    const absl::Status s(static_cast<absl::StatusCode>(code), "why");
    const grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(g.error_message(), "why");
    EXPECT_EQ(FromGrpcStatus(g), s);
  }
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(99), "x"))
                .error_code(),
            grpc::StatusCode::UNKNOWN);
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusTest, CodeNamesAreTheCanonicalOnes) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::INVALID_ARGUMENT),
            "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED),
            "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED),
            "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(42)), "UNKNOWN");
}

absl::Status Step(bool fail, int* ran) {
  ++*ran;
  return fail ? absl::DataLossError("step failed") : absl::OkStatus();
}

absl::Status TwoSteps(bool fail_first, int* ran) {
  PBCHAIN_RETURN_IF_ERROR(Step(fail_first, ran));
  PBCHAIN_RETURN_IF_ERROR(Step(false, ran));
  return absl::OkStatus();
}

absl::StatusOr<int> Number(bool fail) {
  if (fail) return absl::NotFoundError("no number");
  return 21;
}

absl::StatusOr<int> Doubled(bool fail) {
  PBCHAIN_ASSIGN_OR_RETURN(const int n, Number(fail));
  int twice = 0;
  PBCHAIN_ASSIGN_OR_RETURN(twice, absl::StatusOr<int>(n * 2));
  return twice;
}

TEST(StatusMacrosTest, ReturnEarlyOnErrorOnly) {
  int ran = 0;
  EXPECT_EQ(TwoSteps(true, &ran).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ran, 1);  // evaluated once, stopped at the first failure
  ran = 0;
  EXPECT_TRUE(TwoSteps(false, &ran).ok());
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(Doubled(false).value(), 42);
  EXPECT_EQ(Doubled(true).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pbchain
