// ttrpc-bench: the ttrpc-go 1.1.1 side of berth's ttrpc benchmark.
//
//	ttrpc-bench serve -socket PATH
//	    a ttrpc-go server with berth.bench.Echo/Echo (EchoRequest in, EchoReply out)
//	ttrpc-bench load -socket PATH -clients N -duration D -payload BYTES
//	    N connections, each making one call at a time for D; prints one JSON line
//	ttrpc-bench summarize < results.jsonl
//	    medians over rounds and C++/Go ratios, as Markdown
//
// The same load generator drives the C++ server and this one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
)

type EchoRequest struct {
	Payload []byte `protobuf:"bytes,1,opt,name=payload,proto3"`
}

func (m *EchoRequest) Reset()         { *m = EchoRequest{} }
func (m *EchoRequest) String() string { return fmt.Sprintf("%d bytes", len(m.Payload)) }
func (*EchoRequest) ProtoMessage()    {}

type EchoReply struct {
	Payload []byte `protobuf:"bytes,1,opt,name=payload,proto3"`
}

func (m *EchoReply) Reset()         { *m = EchoReply{} }
func (m *EchoReply) String() string { return fmt.Sprintf("%d bytes", len(m.Payload)) }
func (*EchoReply) ProtoMessage()    {}

const service = "berth.bench.Echo"

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	socket := fs.String("socket", "", "")
	fs.Parse(args)
	server, err := ttrpc.NewServer(ttrpc.WithServerHandshaker(ttrpc.UnixSocketRequireSameUser()))
	if err != nil {
		panic(err)
	}
	server.Register(service, map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &EchoReply{Payload: req.Payload}, nil
		},
	})
	l, err := net.Listen("unix", *socket)
	if err != nil {
		panic(err)
	}
	fmt.Println("ready")
	server.Serve(context.Background(), l)
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	socket := fs.String("socket", "", "")
	clients := fs.Int("clients", 1, "connections, each with one call in flight")
	duration := fs.Duration("duration", 5*time.Second, "")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "")
	payloadSize := fs.Int("payload", 64, "payload bytes")
	fs.Parse(args)

	payload := make([]byte, *payloadSize)
	for i := range payload {
		payload[i] = byte(i)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*duration)
	for c := 0; c < *clients; c++ {
		conn, err := net.Dial("unix", *socket)
		if err != nil {
			panic(err)
		}
		client := ttrpc.NewClient(conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer client.Close()
			mine := make([]time.Duration, 0, 1<<16)
			bad := 0
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				var reply EchoReply
				err := client.Call(context.Background(), service, "Echo", &EchoRequest{Payload: payload}, &reply)
				t1 := time.Now()
				if err != nil || len(reply.Payload) != len(payload) {
					bad++
					continue
				}
				if t0.After(measureFrom) {
					mine = append(mine, t1.Sub(t0))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			failures += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Nanoseconds()) / 1000
	}
	out, _ := json.Marshal(map[string]interface{}{
		"clients":     *clients,
		"payload":     *payloadSize,
		"calls":       len(latencies),
		"failures":    failures,
		"calls_per_s": float64(len(latencies)) / duration.Seconds(),
		"p50_us":      pct(0.50),
		"p99_us":      pct(0.99),
	})
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-bench serve|load [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "load":
		load(os.Args[2:])
	case "summarize":
		summarize()
	default:
		os.Exit(2)
	}
}
