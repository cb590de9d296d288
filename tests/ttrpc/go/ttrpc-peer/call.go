package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/status"
)

type metadataFlag []string

func (m *metadataFlag) String() string     { return strings.Join(*m, ",") }
func (m *metadataFlag) Set(v string) error { *m = append(*m, v); return nil }

func payloadFor(index, size int, fixed string) []byte {
	if size > 0 {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i*7 + index)
		}
		return p
	}
	if fixed != "" {
		return []byte(fixed)
	}
	return []byte(fmt.Sprintf("call-%d", index))
}

// result describes one call the way the C++ tests read it.
func result(index int, err error, sent []byte, req *EchoRequest, reply *EchoReply, elapsed time.Duration) map[string]interface{} {
	out := map[string]interface{}{"index": index, "elapsed_ms": elapsed.Milliseconds()}
	if err != nil {
		out["error"] = err.Error()
		if st, ok := status.FromError(err); ok {
			out["is_status"] = true
			out["code"] = int32(st.Code())
			out["message"] = st.Message()
		}
		return out
	}
	out["code"] = 0
	out["payload_len"] = len(reply.Payload)
	if req.ReplySize > 0 {
		out["payload_ok"] = len(reply.Payload) == int(req.ReplySize) &&
			bytes.Equal(reply.Payload, bytes.Repeat([]byte{'r'}, int(req.ReplySize)))
	} else {
		out["payload_ok"] = bytes.Equal(reply.Payload, sent)
	}
	out["metadata"] = reply.Metadata
	out["timeout_nano"] = reply.TimeoutNano
	out["service"] = reply.Service
	return out
}

func call(args []string) {
	fs := flag.NewFlagSet("call", flag.ExitOnError)
	socket := fs.String("socket", "", "server socket")
	service := fs.String("service", "berth.test.v1.Echo", "")
	method := fs.String("method", "Echo", "")
	payload := fs.String("payload", "", "payload text (default call-<index>)")
	payloadSize := fs.Int("payload-size", 0, "payload of this many pattern bytes")
	rawHex := fs.String("raw-payload-hex", "", "send these bytes as the payload instead of an EchoRequest")
	failCode := fs.Int("fail-code", 0, "")
	failMessage := fs.String("fail-message", "", "")
	replySize := fs.Int("reply-size", 0, "")
	sleepMs := fs.Int("sleep-ms", 0, "")
	sleepSpreadMs := fs.Int("sleep-spread-ms", 0, "call i sleeps sleep-ms - i*spread: later calls answer first")
	waitForCancel := fs.Bool("wait-for-cancel", false, "")
	timeout := fs.Duration("timeout", 0, "")
	concurrency := fs.Int("concurrency", 1, "concurrent calls on the one connection")
	followup := fs.Bool("followup", false, "then make a small echo call on the same connection")
	linger := fs.Duration("linger", 0, "keep the connection open this long after the calls")
	var md metadataFlag
	fs.Var(&md, "md", "metadata key=value (repeatable)")
	fs.Parse(args)

	conn, err := net.Dial("unix", *socket)
	if err != nil {
		emit(map[string]interface{}{"index": -1, "error": err.Error()})
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()

	one := func(index int) {
		ctx := context.Background()
		if len(md) > 0 {
			m := ttrpc.MD{}
			for _, kv := range md {
				parts := strings.SplitN(kv, "=", 2)
				m.Append(parts[0], parts[1])
			}
			ctx = ttrpc.WithMetadata(ctx, m)
		}
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		sent := payloadFor(index, *payloadSize, *payload)
		req := &EchoRequest{
			Payload:       sent,
			SleepMs:       int64(*sleepMs - index**sleepSpreadMs),
			FailCode:      int32(*failCode),
			FailMessage:   *failMessage,
			ReplySize:     uint32(*replySize),
			WaitForCancel: *waitForCancel,
		}
		var reply EchoReply
		start := time.Now()
		if *rawHex != "" {
			raw, err := hex.DecodeString(*rawHex)
			if err != nil {
				panic(err)
			}
			rm := rawMessage(raw)
			err = client.Call(ctx, *service, *method, &rm, &reply)
			emit(result(index, err, sent, req, &reply, time.Since(start)))
			return
		}
		err := client.Call(ctx, *service, *method, req, &reply)
		emit(result(index, err, sent, req, &reply, time.Since(start)))
	}

	var wg sync.WaitGroup
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			one(i)
		}(i)
	}
	wg.Wait()

	if *followup {
		req := &EchoRequest{Payload: []byte("followup")}
		var reply EchoReply
		start := time.Now()
		err := client.Call(context.Background(), "berth.test.v1.Echo", "Echo", req, &reply)
		out := result(-2, err, req.Payload, req, &reply, time.Since(start))
		emit(out)
	}
	time.Sleep(*linger)
}
