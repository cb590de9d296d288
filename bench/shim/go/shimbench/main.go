// shimbench drives containerd's Go client against one runtime (shim) at a time:
//
//	shimbench -address SOCK -namespace NS -image REF -runtime NAME [-binary PATH] seq -n 1000
//	    N tasks one after another (create, start, wait, delete); prints tasks/s.
//	shimbench ... stress -runs N -execs M -parallel P
//	    N instant-exit tasks and M instant-exit execs, P at a time, while the event
//	    stream is recorded; prints the order violations (exit before start, delete
//	    before exit, ...). Built offline in GOPATH mode from Debian's Go sources.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/runtime/v2/runc/options"
)

var (
	address   = flag.String("address", "", "containerd socket")
	namespace = flag.String("namespace", "shimbench", "containerd namespace")
	imageRef  = flag.String("image", "", "image to run")
	runtime   = flag.String("runtime", "io.containerd.runc.v2", "runtime name")
	ociVer    = flag.String("oci-version", "", "ociVersion of the specs (default: the client's)")
	binary    = flag.String("binary", "", "OCI runtime the runc-v2 shim runs (its BinaryName option, as `ctr run --runc-binary`)")
	prefix    = flag.String("prefix", "sb", "container id prefix")
)

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "shimbench: "+format+"\n", args...)
	os.Exit(1)
}

// withRuntime picks the shim, and with -binary the OCI runtime the runc-v2 shim runs.
func withRuntime() containerd.NewContainerOpts {
	if *binary == "" {
		return containerd.WithRuntime(*runtime, nil)
	}
	return containerd.WithRuntime(*runtime, &options.Options{BinaryName: *binary})
}

// withSpec is the spec of a task running args in the image, with -oci-version applied.
func (b *bench) withSpec(args ...string) containerd.NewContainerOpts {
	opts := []oci.SpecOpts{oci.WithImageConfig(b.image), oci.WithProcessArgs(args...)}
	if *ociVer != "" {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Version = *ociVer
			return nil
		})
	}
	return containerd.WithNewSpec(opts...)
}

type bench struct {
	client *containerd.Client
	image  containerd.Image
	ctx    context.Context
}

// runTask runs `args` to completion in a new container and removes everything.
func (b *bench) runTask(id string, args ...string) (uint32, error) {
	c, err := b.client.NewContainer(b.ctx, id,
		containerd.WithImage(b.image),
		containerd.WithNewSnapshot(id, b.image),
		withRuntime(),
		b.withSpec(args...))
	if err != nil {
		return 0, err
	}
	defer c.Delete(b.ctx, containerd.WithSnapshotCleanup)
	t, err := c.NewTask(b.ctx, cio.NullIO)
	if err != nil {
		return 0, err
	}
	wait, err := t.Wait(b.ctx)
	if err != nil {
		t.Delete(b.ctx)
		return 0, err
	}
	if err := t.Start(b.ctx); err != nil {
		t.Delete(b.ctx)
		return 0, err
	}
	st := <-wait
	if _, err := t.Delete(b.ctx); err != nil {
		return 0, err
	}
	return st.ExitCode(), nil
}

func (b *bench) seq(n int) {
	durations := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := b.runTask(fmt.Sprintf("%s-seq-%d", *prefix, i), "true"); err != nil {
			fatal("task %d: %v", i, err)
		}
		durations = append(durations, time.Since(t0))
	}
	total := time.Since(start)
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	fmt.Printf("runtime=%s tasks=%d seconds=%.2f tasks_per_second=%.1f median_ms=%.2f p99_ms=%.2f\n",
		*runtime, n, total.Seconds(), float64(n)/total.Seconds(),
		float64(durations[n/2].Microseconds())/1000, float64(durations[n*99/100].Microseconds())/1000)
}

func main() {
	flag.Parse()
	if flag.NArg() < 1 {
		fatal("usage: shimbench [flags] seq|stress [args]")
	}
	client, err := containerd.New(*address)
	if err != nil {
		fatal("connect: %v", err)
	}
	defer client.Close()
	ctx := namespaces.WithNamespace(context.Background(), *namespace)
	image, err := client.GetImage(ctx, *imageRef)
	if err != nil {
		fatal("image: %v", err)
	}
	b := &bench{client: client, image: image, ctx: ctx}
	switch flag.Arg(0) {
	case "seq":
		fs := flag.NewFlagSet("seq", flag.ExitOnError)
		n := fs.Int("n", 1000, "tasks")
		fs.Parse(flag.Args()[1:])
		b.seq(*n)
	case "stress":
		fs := flag.NewFlagSet("stress", flag.ExitOnError)
		runs := fs.Int("runs", 1000, "instant-exit tasks")
		execs := fs.Int("execs", 1000, "instant-exit execs")
		parallel := fs.Int("parallel", 8, "at a time")
		fs.Parse(flag.Args()[1:])
		if v := b.stress(*runs, *execs, *parallel); v > 0 {
			os.Exit(1)
		}
	default:
		fatal("unknown mode %s", flag.Arg(0))
	}
}
