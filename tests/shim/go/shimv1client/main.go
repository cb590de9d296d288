// shimv1client drives containerd-shim-berth-v1 through containerd's own v1 shim client
// (runtime/v1/shim/client, Debian's containerd 1.6 sources): client.WithStart starts the
// shim exactly as containerd's v1 runtime does (flags, socket as fd 3, process group,
// the shim.stdout/stderr.log fifos, shim.pid and address in the bundle).
//
//	shimv1client -shim BIN -berth BIN -rootfs DIR -dir DIR SCENARIO
//
// The client passes its own executable as -containerd-binary, as containerd does; so
// this program is also the fake `containerd publish` the shim runs for each event: it
// appends the topic, the namespace and the decoded event to $SHIMV1_EVENTS, and flags
// two publishers running at once. $SHIMV1_FAIL_FIRST makes the first N publishes fail
// as an unreachable containerd does. Exit status 0: the scenario passed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/runtime/v1/shim"
	"github.com/containerd/containerd/runtime/v1/shim/client"
	shimapi "github.com/containerd/containerd/runtime/v1/shim/v1"
	"github.com/containerd/typeurl"
	ptypes "github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	shimBin   = flag.String("shim", "", "containerd-shim-berth-v1")
	berthBin  = flag.String("berth", "", "berth (for `berth spec`)")
	rootfsDir = flag.String("rootfs", "", "a busybox rootfs (read-only in the containers)")
	workDir   = flag.String("dir", "", "private directory of this run")
)

func main() {
	for _, a := range os.Args[1:] {
		if a == "publish" {
			os.Exit(fakePublish(os.Args[1:]))
		}
	}
	flag.Parse()
	if flag.NArg() != 1 || *shimBin == "" || *berthBin == "" || *rootfsDir == "" || *workDir == "" {
		fmt.Fprintln(os.Stderr, "usage: shimv1client -shim BIN -berth BIN -rootfs DIR -dir DIR SCENARIO")
		os.Exit(2)
	}
	scenarios := map[string]func(*harness){
		"lifecycle": scenarioLifecycle,
		"exec":      scenarioExec,
		"pause":     scenarioPause,
		"errors":    scenarioErrors,
		"events":    scenarioEvents,
	}
	run, ok := scenarios[flag.Arg(0)]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown scenario %s\n", flag.Arg(0))
		os.Exit(2)
	}
	h := newHarness(flag.Arg(0))
	defer h.cleanup()
	run(h)
	if h.failed {
		fmt.Printf("FAIL (%s)\n", flag.Arg(0))
		h.cleanup()
		os.Exit(1)
	}
	fmt.Printf("PASS (%s)\n", flag.Arg(0))
}

// --- the fake `containerd publish` --------------------------------------------------

type record struct {
	Topic     string `json:"topic"`
	Namespace string `json:"namespace"`
	Address   string `json:"address"`
	TypeURL   string `json:"type_url"`
	Container string `json:"container_id"`
	ID        string `json:"id"` // TaskExit.id or TaskExecAdded.exec_id
	Pid       uint32 `json:"pid"`
	Status    uint32 `json:"exit_status"`
	At        int64  `json:"at_ns"` // when the publisher ran
	Overlap   bool   `json:"overlap"`
	Failed    bool   `json:"failed"`
}

func fakePublish(args []string) int {
	var r record
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--topic":
			r.Topic = args[i+1]
		case "--namespace":
			r.Namespace = args[i+1]
		case "--address":
			r.Address = args[i+1]
		}
	}
	out := os.Getenv("SHIMV1_EVENTS")
	// Two publishers at once would be a broken queue: mkdir is atomic.
	lock := out + ".lock"
	if err := os.Mkdir(lock, 0700); err != nil {
		r.Overlap = true
	} else {
		defer os.Remove(lock)
	}
	time.Sleep(5 * time.Millisecond) // widen the window in which an overlap would show
	if n, _ := strconv.Atoi(os.Getenv("SHIMV1_FAIL_FIRST")); n > 0 {
		count := out + ".failures"
		b, _ := os.ReadFile(count)
		done, _ := strconv.Atoi(string(b))
		if done < n {
			os.WriteFile(count, []byte(strconv.Itoa(done+1)), 0600)
			r.Failed = true
			appendRecord(out, r)
			fmt.Fprintf(os.Stderr, "containerd: failed to dial %q: connection refused\n", r.Address)
			return 1
		}
	}
	data, err := io.ReadAll(os.Stdin)
	var any ptypes.Any
	if err == nil {
		err = any.Unmarshal(data)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad event on stdin: %v\n", err)
		return 1
	}
	r.TypeURL = any.TypeUrl
	v, err := typeurl.UnmarshalAny(&any)
	if err != nil {
		fmt.Fprintf(os.Stderr, "unknown event %s: %v\n", any.TypeUrl, err)
		return 1
	}
	switch e := v.(type) {
	case *eventtypes.TaskExit:
		r.Container, r.ID, r.Pid, r.Status = e.ContainerID, e.ID, e.Pid, e.ExitStatus
	case *eventtypes.TaskExecAdded:
		r.Container, r.ID = e.ContainerID, e.ExecID
	default:
		r.Container = fmt.Sprintf("%T", v)
	}
	r.At = time.Now().UnixNano()
	appendRecord(out, r)
	return 0
}

func appendRecord(path string, r record) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(r)
	f.Write(append(b, '\n'))
}

// --- harness ------------------------------------------------------------------------

type harness struct {
	name, ns, dir, id, bundle string
	ctx                       context.Context
	shim                      *client.Client
	shimPid                   int
	failed                    bool
	cleaned                   bool
}

func newHarness(scenario string) *harness {
	h := &harness{name: scenario, ctx: context.Background()}
	h.ns = fmt.Sprintf("shimv1-%d", os.Getpid())
	h.id = "c-" + scenario
	h.dir = filepath.Join(*workDir, h.ns)
	must(os.MkdirAll(h.dir, 0711))
	os.Setenv("SHIMV1_EVENTS", filepath.Join(h.dir, "events"))
	return h
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (h *harness) fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL (%s): "+format+"\n", append([]interface{}{h.name}, args...)...)
	h.failed = true
}

func (h *harness) fatal(format string, args ...interface{}) {
	h.fail(format, args...)
	h.cleanup()
	fmt.Printf("FAIL (%s)\n", h.name)
	os.Exit(1)
}

// startShim writes a bundle running args and starts the shim for it, as containerd's
// v1 runtime does (runtime/v1/linux/bundle.go ShimRemote).
func (h *harness) startShim(args ...string) {
	h.bundle = filepath.Join(h.dir, "state", h.id)
	must(os.MkdirAll(h.bundle, 0700))
	if out, err := exec.Command(*berthBin, "spec", "--bundle", h.bundle).CombinedOutput(); err != nil {
		h.fatal("berth spec: %v: %s", err, out)
	}
	var spec map[string]interface{}
	b, err := os.ReadFile(filepath.Join(h.bundle, "config.json"))
	must(err)
	must(json.Unmarshal(b, &spec))
	proc := spec["process"].(map[string]interface{})
	proc["args"] = args
	proc["terminal"] = false
	spec["root"] = map[string]interface{}{"path": *rootfsDir, "readonly": true}
	spec["linux"].(map[string]interface{})["cgroupsPath"] = "/" + h.ns + "/" + h.id
	b, _ = json.Marshal(spec)
	must(os.WriteFile(filepath.Join(h.bundle, "config.json"), b, 0600))
	work := filepath.Join(h.dir, "work", h.id)
	must(os.MkdirAll(work, 0711))
	cfg := shim.Config{Path: h.bundle, Namespace: h.ns, WorkDir: work,
		RuntimeRoot: filepath.Join(h.dir, "root")}
	address := "unix://" + filepath.Join(h.dir, "shim.sock")
	opt := client.WithStart(*shimBin, address, filepath.Join(h.dir, "containerd.sock"), "", false, func() {})
	c, err := client.New(h.ctx, cfg, opt)
	if err != nil {
		h.fatal("start the shim: %v", err)
	}
	h.shim = c
	pid, _ := os.ReadFile(filepath.Join(h.bundle, "shim.pid"))
	h.shimPid, _ = strconv.Atoi(string(pid))
}

func (h *harness) fifo(name string) string {
	p := filepath.Join(h.dir, name)
	must(syscall.Mkfifo(p, 0600))
	return p
}

// readAll collects what the process writes to the fifo at `path`.
func readAll(path string) <-chan string {
	out := make(chan string, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			out <- "open: " + err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		out <- string(b)
	}()
	return out
}

func (h *harness) create(stdout string) uint32 {
	resp, err := h.shim.Create(h.ctx, &shimapi.CreateTaskRequest{ID: h.id, Bundle: h.bundle,
		Runtime: "berth", Stdout: stdout})
	if err != nil {
		h.fatal("Create: %v", err)
	}
	return resp.Pid
}

func (h *harness) execSpec(args ...string) *ptypes.Any {
	spec := map[string]interface{}{"args": args, "cwd": "/", "user": map[string]int{"uid": 0, "gid": 0},
		"env": []string{"PATH=/bin:/usr/bin"}}
	b, _ := json.Marshal(spec)
	return &ptypes.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", Value: b}
}

func (h *harness) wait(id string, want uint32) {
	ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer cancel()
	resp, err := h.shim.Wait(ctx, &shimapi.WaitRequest{ID: id})
	if err != nil {
		h.fail("Wait %s: %v", id, err)
		return
	}
	if resp.ExitStatus != want {
		h.fail("Wait %s: status %d, want %d", id, resp.ExitStatus, want)
	}
	if resp.ExitedAt.IsZero() || time.Since(resp.ExitedAt) > time.Minute {
		h.fail("Wait %s: exited_at %v", id, resp.ExitedAt)
	}
}

func (h *harness) state(id string) *shimapi.StateResponse {
	resp, err := h.shim.State(h.ctx, &shimapi.StateRequest{ID: id})
	if err != nil {
		h.fatal("State %s: %v", id, err)
	}
	return resp
}

func (h *harness) expectStatus(id string, want task.Status) {
	if got := h.state(id).Status; got != want {
		h.fail("State %s: %v, want %v", id, got, want)
	}
}

func (h *harness) expectCode(what string, err error, want codes.Code) {
	if err == nil {
		h.fail("%s: succeeded, want code %v", what, want)
		return
	}
	if got := status.Code(err); got != want {
		h.fail("%s: %v (code %v), want code %v", what, err, got, want)
	}
}

// events returns what the fake publisher recorded (publishes that failed included
// when `withFailed`).
func (h *harness) events(withFailed bool) []record {
	f, err := os.Open(os.Getenv("SHIMV1_EVENTS"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []record
	s := bufio.NewScanner(f)
	for s.Scan() {
		var r record
		if json.Unmarshal(s.Bytes(), &r) == nil && (withFailed || !r.Failed) {
			out = append(out, r)
		}
	}
	return out
}

func (h *harness) waitEvents(n int) []record {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ev := h.events(false); len(ev) >= n {
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h.events(false)
}

// sequence is the events in the notation of tests/shim/events.awk.
func sequence(events []record, container string) string {
	var words []string
	for _, e := range events {
		word := strings.TrimPrefix(e.Topic, "/tasks/")
		if e.ID != "" && e.ID != container {
			word += "(" + e.ID + ")"
		}
		if e.Topic == "/tasks/exit" {
			word += fmt.Sprintf("[%d]", e.Status)
		}
		words = append(words, word)
	}
	return strings.Join(words, " ")
}

func (h *harness) checkEvents(want string) []record {
	n := len(strings.Fields(want))
	ev := h.waitEvents(n)
	time.Sleep(100 * time.Millisecond)
	ev = h.events(false)
	if got := sequence(ev, h.id); got != want {
		h.fail("events: got [%s], want [%s]", got, want)
	}
	for _, e := range h.events(true) {
		if e.Overlap {
			h.fail("two publishers ran at once (%s)", e.Topic)
		}
		if e.Namespace != h.ns || e.Address != filepath.Join(h.dir, "containerd.sock") {
			h.fail("publish %s: namespace %q address %q", e.Topic, e.Namespace, e.Address)
		}
		if !e.Failed && e.Container != h.id {
			h.fail("publish %s: container %q", e.Topic, e.Container)
		}
		if !e.Failed && e.TypeURL != "containerd.events.TaskExit" && e.TypeURL != "containerd.events.TaskExecAdded" {
			h.fail("publish %s: type_url %q", e.Topic, e.TypeURL)
		}
	}
	return ev
}

// cleanup: the shim and whatever of the container is left, by pid and path.
func (h *harness) cleanup() {
	if h.cleaned {
		return
	}
	h.cleaned = true
	if h.shim != nil {
		h.shim.Delete(h.ctx, &ptypes.Empty{})
		h.shim.Close()
	}
	if h.shimPid > 0 {
		syscall.Kill(h.shimPid, syscall.SIGKILL)
	}
	exec.Command(*berthBin, "--root", filepath.Join(h.dir, "root", h.ns), "delete", "--force", h.id).Run()
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/" + h.ns)
	for _, m := range matches {
		dirs := []string{}
		filepath.Walk(m, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			os.Remove(dirs[i])
		}
		if _, err := os.Stat(m); err == nil {
			h.fail("cgroup left behind: %s", m)
		}
	}
	os.RemoveAll(h.dir)
}
