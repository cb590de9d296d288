#include "echo_service.h"

#include <algorithm>
#include <thread>

#include "echo.pb.h"
#include "ttrpc/protobuf_payload.h"

namespace berth::ttrpc::testing {

bool EchoObservations::WaitForCancellations(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu);
  return changed.wait_for(lock, timeout, [&] { return cancellations.size() >= count; });
}

Result<void> RegisterEchoService(Server& server, std::shared_ptr<EchoObservations> observations) {
  ServiceMethods methods;
  methods["Echo"] = TypedMethod<berth::test::v1::EchoRequest>(
      [observations](berth::test::v1::EchoRequest echo, Request& request, Responder responder) {
        auto arrived = std::chrono::steady_clock::now();
        {
          std::lock_guard lock(observations->mu);
          observations->stream_ids.push_back(responder.stream_id());
        }
        if (echo.fail_code() != 0) {
          responder.Fail(Status(echo.fail_code(), echo.fail_message()));
          return;
        }
        berth::test::v1::EchoReply reply;
        if (echo.reply_size() > 0) {
          reply.set_payload(std::string(echo.reply_size(), 'r'));
        } else {
          reply.set_payload(std::move(*echo.mutable_payload()));
        }
        std::vector<std::string> metadata;
        for (const KeyValue& kv : request.metadata) metadata.push_back(kv.key + "=" + kv.value);
        std::sort(metadata.begin(), metadata.end());
        for (std::string& entry : metadata) reply.add_metadata(std::move(entry));
        reply.set_timeout_nano(request.timeout_nano);
        reply.set_service(request.service);

        if (echo.wait_for_cancel()) {
          // The responder waits in its own cancel callback; the cycle ends when it runs.
          auto shared = std::make_shared<Responder>(std::move(responder));
          shared->OnCancel([shared, observations, arrived, timeout = request.timeout_nano](CancelReason why) {
            {
              std::lock_guard lock(observations->mu);
              observations->cancellations.push_back(
                  {why, std::chrono::steady_clock::now() - arrived, timeout});
            }
            observations->changed.notify_all();
            shared->Fail(why == CancelReason::kDeadlineExceeded ? Status::DeadlineExceeded() : Status::Cancelled());
          });
          return;
        }
        if (echo.sleep_ms() > 0) {
          // Answered from another thread, later: the loop goes on serving meanwhile.
          std::thread([responder = std::move(responder), reply = std::move(reply), ms = echo.sleep_ms()]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            ReplyWith(responder, reply);
          }).detach();
          return;
        }
        ReplyWith(responder, reply);
      });
  methods["Empty"] = [](Request, Responder responder) { responder.Reply(""); };
  BERTH_TRY(server.Register(kEchoService, std::move(methods)));
  return server.RegisterAlias(kEchoAlias, kEchoService);
}

}  // namespace berth::ttrpc::testing
