package main

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/task"
	shimapi "github.com/containerd/containerd/runtime/v1/shim/v1"
	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	ptypes "github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
)

var empty = &ptypes.Empty{}

// Create, Start, State, ListPids, ShimInfo, Wait, Delete; output through a fifo; the
// only event the shim publishes for an init is its exit, after Start answered.
func scenarioLifecycle(h *harness) {
	h.startShim("sh", "-c", "echo hello from v1; sleep 0.5; exit 3")
	out := h.fifo("stdout")
	output := readAll(out)
	pid := h.create(out)
	if pid == 0 {
		h.fail("Create: pid 0")
	}
	h.expectStatus(h.id, task.StatusCreated)
	info, err := h.shim.ShimInfo(h.ctx, empty)
	if err != nil || int(info.ShimPid) != h.shimPid {
		h.fail("ShimInfo: %v, pid %v, want %d (shim.pid)", err, info, h.shimPid)
	}
	start, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id})
	started := time.Now().UnixNano()
	if err != nil || start.Pid != pid || start.ID != h.id {
		h.fatal("Start: %v %+v, want pid %d", err, start, pid)
	}
	h.expectStatus(h.id, task.StatusRunning)
	pids, err := h.shim.ListPids(h.ctx, &shimapi.ListPidsRequest{ID: h.id})
	if err != nil || len(pids.Processes) == 0 || pids.Processes[0].Pid != pid {
		h.fail("ListPids: %v %+v, want [%d]", err, pids, pid)
	}
	h.wait(h.id, 3)
	st := h.state(h.id)
	if st.Status != task.StatusStopped || st.ExitStatus != 3 || st.Pid != pid || st.Bundle != h.bundle {
		h.fail("State after exit: %+v", st)
	}
	del, err := h.shim.Delete(h.ctx, empty)
	if err != nil || del.ExitStatus != 3 || del.Pid != pid || del.ExitedAt.IsZero() {
		h.fail("Delete: %v %+v", err, del)
	}
	// Delete answers once the exit was delivered: containerd kills a v1 shim next.
	ev := h.events(false)
	if len(ev) != 1 {
		h.fail("events when Delete answered: %+v, want the exit", ev)
	}
	ev = h.checkEvents("exit[3]")
	if len(ev) == 1 && (ev[0].Pid != pid || ev[0].At < started) {
		h.fail("exit event %+v: pid %d, published before Start answered (%d)", ev[0], pid, started)
	}
	if got := <-output; got != "hello from v1\n" {
		h.fail("stdout: %q", got)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "root", h.ns, h.id)); err == nil {
		h.fail("berth state left after Delete")
	}
}

// Exec, Start, Wait, Kill and DeleteProcess of execs; exec-added is delivered before
// Exec answers, so before containerd's own exec-started.
func scenarioExec(h *harness) {
	h.startShim("sleep", "1000")
	h.create("")
	if _, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id}); err != nil {
		h.fatal("Start: %v", err)
	}
	_, err := h.shim.Exec(h.ctx, &shimapi.ExecProcessRequest{ID: "e1", Spec: h.execSpec("sh", "-c", "exit 5")})
	answered := time.Now().UnixNano()
	if err != nil {
		h.fatal("Exec e1: %v", err)
	}
	if ev := h.events(false); len(ev) != 1 || ev[0].Topic != "/tasks/exec-added" || ev[0].At > answered {
		h.fail("exec-added not delivered before Exec answered: %+v", ev)
	}
	h.expectStatus("e1", task.StatusCreated)
	if s, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: "e1"}); err != nil || s.ID != "e1" || s.Pid == 0 {
		h.fatal("Start e1: %v %+v", err, s)
	}
	h.wait("e1", 5)
	if d, err := h.shim.DeleteProcess(h.ctx, &shimapi.DeleteProcessRequest{ID: "e1"}); err != nil || d.ExitStatus != 5 {
		h.fail("DeleteProcess e1: %v %+v", err, d)
	}
	_, err = h.shim.State(h.ctx, &shimapi.StateRequest{ID: "e1"})
	h.expectCode("State of a deleted exec", err, codes.NotFound)
	_, err = h.shim.Exec(h.ctx, &shimapi.ExecProcessRequest{ID: h.id, Spec: h.execSpec("true")})
	h.expectCode("Exec with the container's id", err, codes.AlreadyExists)
	_, err = h.shim.DeleteProcess(h.ctx, &shimapi.DeleteProcessRequest{ID: h.id})
	h.expectCode("DeleteProcess of the init", err, codes.InvalidArgument)
	if _, err := h.shim.Exec(h.ctx, &shimapi.ExecProcessRequest{ID: "e2", Spec: h.execSpec("sleep", "1000")}); err != nil {
		h.fatal("Exec e2: %v", err)
	}
	if _, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: "e2"}); err != nil {
		h.fatal("Start e2: %v", err)
	}
	if _, err := h.shim.Kill(h.ctx, &shimapi.KillRequest{ID: "e2", Signal: uint32(syscall.SIGKILL)}); err != nil {
		h.fail("Kill e2: %v", err)
	}
	h.wait("e2", 137)
	// An empty id is the init.
	if _, err := h.shim.Kill(h.ctx, &shimapi.KillRequest{Signal: uint32(syscall.SIGKILL)}); err != nil {
		h.fail("Kill init: %v", err)
	}
	h.wait(h.id, 137)
	if _, err := h.shim.Delete(h.ctx, empty); err != nil {
		h.fail("Delete: %v", err)
	}
	h.checkEvents("exec-added(e1) exit(e1)[5] exec-added(e2) exit(e2)[137] exit[137]")
}

// Pause and Resume through the freezer; exec refused while paused.
func scenarioPause(h *harness) {
	h.startShim("sleep", "1000")
	pid := h.create("")
	if _, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id}); err != nil {
		h.fatal("Start: %v", err)
	}
	if _, err := h.shim.Pause(h.ctx, empty); err != nil {
		h.fatal("Pause: %v", err)
	}
	h.expectStatus(h.id, task.StatusPaused)
	if st := procState(pid); st != "D" && st != "S" {
		h.fail("paused init in state %q", st)
	}
	_, err := h.shim.Exec(h.ctx, &shimapi.ExecProcessRequest{ID: "e1", Spec: h.execSpec("true")})
	h.expectCode("Exec while paused", err, codes.Unknown)
	_, err = h.shim.Pause(h.ctx, empty)
	h.expectCode("Pause twice", err, codes.Unknown)
	if _, err := h.shim.Resume(h.ctx, empty); err != nil {
		h.fail("Resume: %v", err)
	}
	h.expectStatus(h.id, task.StatusRunning)
	if _, err := h.shim.Kill(h.ctx, &shimapi.KillRequest{ID: h.id, Signal: uint32(syscall.SIGKILL)}); err != nil {
		h.fail("Kill: %v", err)
	}
	h.wait(h.id, 137)
	if _, err := h.shim.Delete(h.ctx, empty); err != nil {
		h.fail("Delete: %v", err)
	}
	h.checkEvents("exit[137]")
}

func procState(pid uint32) string {
	b, _ := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	s := string(b)
	if i := strings.LastIndex(s, ")"); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// Unknown ids, wrong states, an unimplemented method, a malformed frame and a bad
// payload: each answered with an error status, and the shim keeps serving.
func scenarioErrors(h *harness) {
	h.startShim("sleep", "1000")
	_, err := h.shim.State(h.ctx, &shimapi.StateRequest{ID: "nope"})
	h.expectCode("State before Create", err, codes.NotFound)
	_, err = h.shim.Pause(h.ctx, empty)
	h.expectCode("Pause before Create", err, codes.FailedPrecondition)
	_, err = h.shim.Delete(h.ctx, empty)
	h.expectCode("Delete before Create", err, codes.FailedPrecondition)
	h.create("")
	_, err = h.shim.Create(h.ctx, &shimapi.CreateTaskRequest{ID: "second", Bundle: h.bundle})
	h.expectCode("a second Create", err, codes.AlreadyExists)
	_, err = h.shim.Start(h.ctx, &shimapi.StartRequest{ID: "nope"})
	h.expectCode("Start of an unknown exec", err, codes.NotFound)
	_, err = h.shim.Pause(h.ctx, empty)
	h.expectCode("Pause of a created task", err, codes.Unknown)
	_, err = h.shim.Kill(h.ctx, &shimapi.KillRequest{ID: "nope", Signal: 9})
	h.expectCode("Kill of an unknown exec", err, codes.NotFound)
	_, err = h.shim.ResizePty(h.ctx, &shimapi.ResizePtyRequest{Width: 80, Height: 25})
	h.expectCode("ResizePty without an id", err, codes.InvalidArgument)
	if _, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id}); err != nil {
		h.fatal("Start: %v", err)
	}
	_, err = h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id})
	h.expectCode("Start twice", err, codes.Unknown)
	_, err = h.shim.Delete(h.ctx, empty)
	h.expectCode("Delete of a running task", err, codes.Unknown)
	_, err = h.shim.Resume(h.ctx, empty)
	h.expectCode("Resume of a running task", err, codes.Unknown)
	_, err = h.shim.DeleteProcess(h.ctx, &shimapi.DeleteProcessRequest{ID: "nope"})
	h.expectCode("DeleteProcess of an unknown exec", err, codes.NotFound)

	sock := filepath.Join(h.dir, "shim.sock")
	conn, err := net.Dial("unix", sock)
	if err != nil {
		h.fatal("dial: %v", err)
	}
	raw := ttrpc.NewClient(conn)
	err = raw.Call(h.ctx, "containerd.runtime.linux.shim.v1.Shim", "Stats", empty, empty)
	h.expectCode("a method v1 does not have", err, codes.Unimplemented)
	err = raw.Call(h.ctx, "containerd.task.v2.Task", "State", empty, empty)
	h.expectCode("the v2 service", err, codes.Unimplemented)
	raw.Close()
	// A frame of an unknown type, then a request whose payload is not a StateRequest.
	conn, err = net.Dial("unix", sock)
	if err != nil {
		h.fatal("dial: %v", err)
	}
	conn.Write(frame(1, 9, []byte("garbage")))
	req := &ttrpc.Request{Service: "containerd.runtime.linux.shim.v1.Shim", Method: "State",
		Payload: []byte{0xff, 0xff, 0xff}}
	body, _ := proto.Marshal(req)
	conn.Write(frame(3, 1, body))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 10)
	if _, err := ioReadFull(conn, hdr); err != nil {
		h.fail("no answer to a bad payload: %v", err)
	} else {
		n := binary.BigEndian.Uint32(hdr[:4])
		body := make([]byte, n)
		ioReadFull(conn, body)
		var resp ttrpc.Response
		if err := proto.Unmarshal(body, &resp); err != nil || resp.Status == nil ||
			codes.Code(resp.Status.Code) != codes.Internal || binary.BigEndian.Uint32(hdr[4:8]) != 3 {
			h.fail("answer to a bad payload: %v %+v (stream %d)", err, resp.Status, binary.BigEndian.Uint32(hdr[4:8]))
		}
	}
	conn.Close()
	// Still serving.
	if _, err := h.shim.ShimInfo(h.ctx, empty); err != nil {
		h.fail("ShimInfo after bad input: %v", err)
	}
	h.expectStatus(h.id, task.StatusRunning)
	h.shim.Kill(h.ctx, &shimapi.KillRequest{Signal: 9})
	h.wait(h.id, 137)
	if _, err := h.shim.Delete(h.ctx, empty); err != nil {
		h.fail("Delete: %v", err)
	}
	_, err = h.shim.Delete(h.ctx, empty)
	h.expectCode("Delete twice", err, codes.NotFound)
	h.checkEvents("exit[137]")
}

func frame(stream uint32, typ byte, body []byte) []byte {
	b := make([]byte, 10+len(body))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(body)))
	binary.BigEndian.PutUint32(b[4:8], stream)
	b[8] = typ
	copy(b[10:], body)
	return b
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// The event queue: publishers one at a time, in order, failed publishes retried (the
// first three fail as an unreachable containerd does), nothing dropped; 12 instant
// execs started at once never have their exit before their exec-added.
func scenarioEvents(h *harness) {
	os.Setenv("SHIMV1_FAIL_FIRST", "3")
	h.startShim("sleep", "1000")
	h.create("")
	if _, err := h.shim.Start(h.ctx, &shimapi.StartRequest{ID: h.id}); err != nil {
		h.fatal("Start: %v", err)
	}
	const n = 12
	done := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(id string) {
			ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
			defer cancel()
			if _, err := h.shim.Exec(ctx, &shimapi.ExecProcessRequest{ID: id, Spec: h.execSpec("true")}); err != nil {
				done <- err
				return
			}
			_, err := h.shim.Start(ctx, &shimapi.StartRequest{ID: id})
			done <- err
		}("x" + itoa(uint32(i)))
	}
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			h.fail("exec: %v", err)
		}
	}
	h.shim.Kill(h.ctx, &shimapi.KillRequest{Signal: 9})
	h.wait(h.id, 137)
	if _, err := h.shim.Delete(h.ctx, empty); err != nil {
		h.fail("Delete: %v", err)
	}
	ev := h.waitEvents(2*n + 1)
	seen := map[string]string{}
	for _, e := range ev {
		key := e.ID
		switch e.Topic {
		case "/tasks/exec-added":
			if seen[key] != "" {
				h.fail("exec-added(%s) twice or after its exit", key)
			}
			seen[key] = "added"
		case "/tasks/exit":
			if key != h.id && seen[key] != "added" {
				h.fail("exit(%s) before its exec-added", key)
			}
			seen[key] = "exited"
		}
	}
	if len(ev) != 2*n+1 || ev[len(ev)-1].ID != h.id {
		h.fail("%d events delivered, want %d, the init's exit last: %s", len(ev), 2*n+1, sequence(ev, h.id))
	}
	failed := 0
	for _, e := range h.events(true) {
		if e.Failed {
			failed++
		}
	}
	if failed != 3 {
		h.fail("%d failed publishes, want 3 (retried)", failed)
	}
	h.checkEvents(sequence(ev, h.id))
}
