// ttrpc-peer: the ttrpc-go 1.1.1 side of berth's interop tests and benchmark.
// Built at test time in GOPATH mode against /usr/share/gocode (Debian's Go packages).
//
//	ttrpc-peer serve  -socket PATH        ttrpc-go server: echo service + containerd Events
//	ttrpc-peer call   -socket PATH ...    ttrpc-go client: echo calls, one JSON line per call
//	ttrpc-peer task   -socket PATH        containerd's generated Task client against a server
//	ttrpc-peer decode                     gogo-decodes hex Request bodies from stdin, one per line
//
// Every result is a JSON line on stdout; the C++ tests assert on them.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

var stdoutMu sync.Mutex

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-peer serve|call|task|decode [flags]")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		serve(args)
	case "call":
		call(args)
	case "task":
		taskClient(args)
	case "decode":
		decode()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
