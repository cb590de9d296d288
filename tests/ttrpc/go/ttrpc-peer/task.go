package main

import (
	"context"
	"flag"
	"net"
	"os"
	"time"

	task "github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/status"
)

// taskClient drives a server with containerd's own generated Task client (what
// containerd uses to talk to a v2 shim) and reports what it decoded.
func taskClient(args []string) {
	fs := flag.NewFlagSet("task", flag.ExitOnError)
	socket := fs.String("socket", "", "shim socket")
	id := fs.String("id", "c1", "task id")
	fs.Parse(args)

	conn, err := net.Dial("unix", *socket)
	if err != nil {
		emit(map[string]interface{}{"error": err.Error()})
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	report := func(call string, err error, fields map[string]interface{}) {
		out := map[string]interface{}{"call": call}
		if err != nil {
			out["error"] = err.Error()
			if st, ok := status.FromError(err); ok {
				out["code"] = int32(st.Code())
				out["message"] = st.Message()
			}
		}
		for k, v := range fields {
			out[k] = v
		}
		emit(out)
	}

	svc := task.NewTaskClient(client)
	state, err := svc.State(ctx, &task.StateRequest{ID: *id})
	if err == nil {
		report("State", nil, map[string]interface{}{
			"id": state.ID, "bundle": state.Bundle, "pid": state.Pid, "status": state.Status.String(),
			"exit_status": state.ExitStatus, "exited_at_unix": state.ExitedAt.Unix(), "exited_at_zero": state.ExitedAt.IsZero(),
		})
	} else {
		report("State", err, nil)
	}

	connect, err := svc.Connect(ctx, &task.ConnectRequest{ID: *id})
	if err == nil {
		report("Connect", nil, map[string]interface{}{"shim_pid": connect.ShimPid, "task_pid": connect.TaskPid})
	} else {
		report("Connect", err, nil)
	}

	_, err = svc.Pids(ctx, &task.PidsRequest{ID: *id})
	report("Pids", err, nil)

	// The same service under its v3 name, as newer containerd releases call it.
	var v3 task.StateResponse
	err = client.Call(ctx, "containerd.task.v3.Task", "State", &task.StateRequest{ID: *id}, &v3)
	report("v3.State", err, map[string]interface{}{"id": v3.ID, "pid": v3.Pid})
}
