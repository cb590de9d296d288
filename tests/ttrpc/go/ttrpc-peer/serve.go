package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"sort"
	"time"

	"github.com/containerd/containerd/api/events"
	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func echoMethods(service string) map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			arrived := time.Now()
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			if req.FailCode != 0 {
				return nil, status.Errorf(codes.Code(req.FailCode), "%s", req.FailMessage)
			}
			reply := &EchoReply{Payload: req.Payload, Service: service}
			if req.ReplySize > 0 {
				reply.Payload = bytes.Repeat([]byte{'r'}, int(req.ReplySize))
			}
			if md, ok := ttrpc.GetMetadata(ctx); ok {
				for k, values := range md {
					for _, v := range values {
						reply.Metadata = append(reply.Metadata, k+"="+v)
					}
				}
				sort.Strings(reply.Metadata)
			}
			var timeoutNano int64
			if deadline, ok := ctx.Deadline(); ok {
				timeoutNano = int64(deadline.Sub(arrived))
				reply.TimeoutNano = timeoutNano
			}
			if req.WaitForCancel {
				<-ctx.Done()
				emit(map[string]interface{}{
					"event":        "cancelled",
					"reason":       ctx.Err().Error(),
					"after_ms":     time.Since(arrived).Milliseconds(),
					"timeout_nano": timeoutNano,
				})
				return nil, ctx.Err()
			}
			if req.SleepMs > 0 {
				time.Sleep(time.Duration(req.SleepMs) * time.Millisecond)
			}
			return reply, nil
		},
		"Empty": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			return &types.Empty{}, nil
		},
	}
}

// forwarder is containerd's side of the shim's event publishing.
type forwarder struct{}

func (forwarder) Forward(ctx context.Context, req *eventsapi.ForwardRequest) (*types.Empty, error) {
	ns, _ := ttrpc.GetMetadataValue(ctx, "containerd-namespace-ttrpc")
	out := map[string]interface{}{"event": "forward", "md_namespace": ns}
	if deadline, ok := ctx.Deadline(); ok {
		out["timeout_ms"] = time.Until(deadline).Milliseconds()
	}
	if env := req.Envelope; env != nil {
		out["namespace"] = env.Namespace
		out["topic"] = env.Topic
		out["timestamp_unix_nano"] = env.Timestamp.UnixNano()
		if env.Event != nil {
			out["type_url"] = env.Event.TypeUrl
			if env.Event.TypeUrl == "containerd.events.TaskExit" {
				var exit events.TaskExit
				if err := proto.Unmarshal(env.Event.Value, &exit); err != nil {
					return nil, err
				}
				out["container_id"] = exit.ContainerID
				out["exit_status"] = exit.ExitStatus
				out["pid"] = exit.Pid
				out["exited_at_unix"] = exit.ExitedAt.Unix()
			}
		}
	}
	emit(out)
	return &types.Empty{}, nil
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket to listen on")
	anyUser := fs.Bool("any-user", false, "skip the same-user check")
	fs.Parse(args)

	var opts []ttrpc.ServerOpt
	if !*anyUser {
		// What containerd's shims and its own ttrpc server use.
		opts = append(opts, ttrpc.WithServerHandshaker(ttrpc.UnixSocketRequireSameUser()))
	}
	server, err := ttrpc.NewServer(opts...)
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"berth.test.v1.Echo", "berth.test.v1.EchoAlias"} {
		server.Register(name, echoMethods(name))
	}
	eventsapi.RegisterEventsService(server, forwarder{})

	listener, err := net.Listen("unix", *socket)
	if err != nil {
		emit(map[string]interface{}{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	os.Chmod(*socket, 0777)
	emit(map[string]interface{}{"event": "ready"})
	if err := server.Serve(context.Background(), listener); err != nil {
		emit(map[string]interface{}{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
}
