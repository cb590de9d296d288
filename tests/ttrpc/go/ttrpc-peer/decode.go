package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
)

// decode unmarshals each hex line of stdin as a ttrpc Request with gogo/protobuf, the
// codec ttrpc-go's server uses, and prints "err <text>" or "ok <fields in hex>".
func decode() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		b, err := hex.DecodeString(strings.TrimSpace(in.Text()))
		if err != nil {
			panic(err)
		}
		var req ttrpc.Request
		if err := proto.Unmarshal(b, &req); err != nil {
			fmt.Fprintf(out, "err %s\n", err)
			continue
		}
		fmt.Fprintf(out, "ok %x %x %x %d", req.Service, req.Method, req.Payload, req.TimeoutNano)
		for _, kv := range req.Metadata {
			fmt.Fprintf(out, " %x=%x", kv.Key, kv.Value)
		}
		fmt.Fprintln(out)
	}
}
