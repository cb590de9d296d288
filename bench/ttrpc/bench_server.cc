// The C++ side of the ttrpc benchmark: berth.bench.Echo/Echo on one event loop thread,
// parsing EchoRequest and serializing EchoReply as the ttrpc-go server does.
//   ttrpc-bench-server SOCKET
#include <cstdio>
#include <string>

#include "echo.pb.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/protobuf_payload.h"
#include "ttrpc/server.h"

using namespace berth::ttrpc;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  auto loop = EventLoop::Create();
  if (!loop) {
    std::fprintf(stderr, "%s\n", loop.error().message.c_str());
    return 1;
  }
  Server server(**loop);
  ServiceMethods methods;
  methods["Echo"] = TypedMethod<berth::test::v1::EchoRequest>(
      [](berth::test::v1::EchoRequest request, Request&, Responder responder) {
        berth::test::v1::EchoReply reply;
        reply.set_payload(std::move(*request.mutable_payload()));
        ReplyWith(responder, reply);
      });
  if (auto r = server.Register("berth.bench.Echo", std::move(methods)); !r) return 1;
  if (auto r = server.Listen(argv[1]); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  auto ran = (*loop)->Run();
  return ran ? 0 : 1;
}
