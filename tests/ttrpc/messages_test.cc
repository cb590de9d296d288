#include "ttrpc/messages.h"

#include <gtest/gtest.h>

namespace berth::ttrpc {
namespace {

using namespace std::string_literals;

std::string DecodeError(std::string_view body) {
  Request request;
  std::string error;
  if (DecodeRequest(body, request, error)) return "ok";
  return error;
}

TEST(Request, EncodesLikeGogo) {
  std::string out;
  EncodeRequest("svc", "M", "\x01\x02"s, 5, {{"k", "v"}}, out);
  // 1:"svc" 2:"M" 3:bytes 4:varint 5:{1:"k" 2:"v"}
  EXPECT_EQ(out, "\x0a\x03svc\x12\x01M\x1a\x02\x01\x02\x20\x05\x2a\x06\x0a\x01k\x12\x01v"s);
}

TEST(Request, OmitsZeroFields) {
  std::string out;
  EncodeRequest("", "", "", 0, {}, out);
  EXPECT_EQ(out, "");
}

TEST(Request, RoundTrips) {
  Request in{.service = "containerd.task.v2.Task",
             .method = "Create",
             .payload = std::string(1000, '\0') + "x",
             .timeout_nano = -42,
             .metadata = {{"containerd-namespace-ttrpc", "default"}, {"a", ""}, {"", "b"}}};
  std::string body;
  EncodeRequest(in, body);
  Request out;
  std::string error;
  ASSERT_TRUE(DecodeRequest(body, out, error)) << error;
  EXPECT_EQ(out, in);
}

TEST(Request, LaterScalarWinsAndMetadataAppends) {
  std::string body = "\x0a\x01" "a" "\x0a\x01" "b" "\x2a\x03\x0a\x01x" "\x2a\x03\x0a\x01y"s;
  Request out;
  std::string error;
  ASSERT_TRUE(DecodeRequest(body, out, error)) << error;
  EXPECT_EQ(out.service, "b");
  ASSERT_EQ(out.metadata.size(), 2u);
  EXPECT_EQ(out.metadata[1].key, "y");
}

TEST(Request, SkipsUnknownFieldsAndWrongWireTypes) {
  // field 9 varint, field 1 as varint (wrong type: skipped), field 10 fixed32, field 11
  // fixed64, a group (field 12) with a nested varint, then service.
  std::string body = "\x48\x01" "\x08\x07" "\x55\x01\x02\x03\x04" "\x59\x01\x02\x03\x04\x05\x06\x07\x08"
                     "\x63\x08\x01\x64" "\x0a\x01s"s;
  Request out;
  std::string error;
  ASSERT_TRUE(DecodeRequest(body, out, error)) << error;
  EXPECT_EQ(out.service, "s");
}

TEST(Request, GogoErrorTexts) {
  EXPECT_EQ(DecodeError("\x0a\x05" "ab"s), "unexpected EOF");
  EXPECT_EQ(DecodeError("\x0a"s), "unexpected EOF");
  EXPECT_EQ(DecodeError("\x80"s), "unexpected EOF");
  EXPECT_EQ(DecodeError("\x00\x00"s), "proto: ttrpc.Request: illegal tag 0 (wire type 0)");
  EXPECT_EQ(DecodeError("\x02\x00"s), "proto: ttrpc.Request: illegal tag 0 (wire type 2)");
  EXPECT_EQ(DecodeError("\x4c"s), "proto: can't skip unknown wire type 4");
  EXPECT_EQ(DecodeError("\x4f"s), "proto: can't skip unknown wire type 7");
  EXPECT_EQ(DecodeError("\x4b\x08"s), "unexpected EOF");  // unterminated group
  EXPECT_EQ(DecodeError("\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"s), "unexpected EOF");  // varint > 64 bits
  EXPECT_EQ(DecodeError("\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s), "ok");
  EXPECT_EQ(DecodeError("\x0a\x01\xff"s), "proto: field \".service\" contains invalid UTF-8");
  EXPECT_EQ(DecodeError("\x12\x03\xed\xa0\x80"s), "proto: field \".method\" contains invalid UTF-8");  // surrogate
  // Invalid UTF-8 is reported after the whole message, unless something fatal follows.
  EXPECT_EQ(DecodeError("\x0a\x01\xff\x12\x01\xfe"s), "proto: field \".service\" contains invalid UTF-8");
  EXPECT_EQ(DecodeError("\x0a\x01\xff\x00"s), "proto: ttrpc.Request: illegal tag 0 (wire type 0)");
  // Errors inside metadata entries are fatal at once.
  EXPECT_EQ(DecodeError("\x2a\x02\x00\x00"s), "proto: ttrpc.KeyValue: illegal tag 0 (wire type 0)");
  EXPECT_EQ(DecodeError("\x2a\x03\x0a\x01\xff\x00"s), "proto: field \".key\" contains invalid UTF-8");
  EXPECT_EQ(DecodeError("\x2a\x03\x12\x01\xc0"s), "proto: field \".value\" contains invalid UTF-8");
}

TEST(Response, OkWithEmptyPayloadIsEmpty) {
  std::string out;
  EncodeResponse(Status(), "", out);
  EXPECT_EQ(out, "");
}

TEST(Response, ErrorEncodingAndRoundTrip) {
  std::string out;
  EncodeResponse(Status(Code::kUnimplemented, "service x"), "", out);
  EXPECT_EQ(out, "\x0a\x0d\x08\x0c\x12\x09service x"s);
  Response back;
  std::string error;
  ASSERT_TRUE(DecodeResponse(out, back, error)) << error;
  EXPECT_EQ(back.status, Status(Code::kUnimplemented, "service x"));
  EXPECT_EQ(back.payload, "");
}

TEST(Response, NegativeCodeAndPayload) {
  std::string out;
  EncodeResponse(Status(-1, ""), "p", out);
  Response back;
  std::string error;
  ASSERT_TRUE(DecodeResponse(out, back, error)) << error;
  EXPECT_EQ(back.status.code, -1);
  // An error reply carries the payload only if given; ttrpc-go never gives one.
  EXPECT_EQ(back.payload, "p");
}

TEST(Metadata, FindLowerCasesTheKeyLikeTtrpcGo) {
  Metadata md{{"containerd-namespace-ttrpc", "ns1"}, {"Upper", "u"}, {"k", "first"}, {"k", "second"}};
  EXPECT_EQ(FindMetadata(md, "Containerd-Namespace-TTRPC"), "ns1");
  EXPECT_EQ(FindMetadata(md, "k"), "first");
  EXPECT_FALSE(FindMetadata(md, "Upper"));  // stored keys are not lower-cased
  EXPECT_FALSE(FindMetadata(md, "missing"));
}

}  // namespace
}  // namespace berth::ttrpc
