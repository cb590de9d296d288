// podbench measures pod startup and the runtime's memory per pod through the Kubernetes
// CRI API (k8s.io/cri-api v1), as a kubelet drives a runtime, on several runtime handlers
// of one containerd in one run:
//
//	podbench -endpoint unix:///.../containerd.sock -image REF -logs DIR -prefix P \
//	    -handlers berth,runc -seq 30 -parallel 10 -rounds 3 -mem-pods 20 -idle 5s
//
// startup: RunPodSandbox + CreateContainer + StartContainer of `sh -c 'echo ready; exec
// sleep 100000'`, timed until ContainerStatus says RUNNING and until "ready" is in the
// container's CRI log file; -seq pods one after another (the handlers alternating pod by
// pod, each pod removed before the next), then -rounds rounds of -parallel pods started
// at once (handler by handler). memory: 1 pod, then -mem-pods pods, of 2 `sleep`
// containers each; after -idle, the RSS and PSS of each pod's shim (the parent of a
// container's init) from /proc/<shim>/smaps_rollup, summed and divided by the pods.
//
// Results go to stdout, one `key=value ...` line each; progress goes to stderr. Every
// pod it made is removed when it exits, also on failure or SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

var (
	endpoint = flag.String("endpoint", "", "CRI endpoint (unix:///path)")
	imageRef = flag.String("image", "registry.k8s.io/e2e-test-images/busybox:1.29-2", "container image")
	logRoot  = flag.String("logs", "", "directory for the pods' log directories")
	prefix   = flag.String("prefix", "podbench", "pod name prefix and root of the pods' cgroup parents")
	handlers = flag.String("handlers", "berth,runc", "runtime handlers, comma separated")
	seqN     = flag.Int("seq", 30, "sequential pods per handler")
	warmup   = flag.Int("warmup", 1, "sequential pods per handler before measuring, not counted")
	parN     = flag.Int("parallel", 10, "pods started at once")
	rounds   = flag.Int("rounds", 3, "rounds of -parallel pods per handler")
	memPods  = flag.Int("mem-pods", 20, "pods for the memory measure")
	memCont  = flag.Int("mem-containers", 2, "containers per pod for the memory measure")
	idle     = flag.Duration("idle", 5*time.Second, "idle time before reading the shims' memory")
	timeout  = flag.Duration("timeout", 60*time.Second, "timeout of one CRI call, and of a wait")
)

const poll = time.Millisecond

type bench struct {
	rt  cri.RuntimeServiceClient
	img cri.ImageServiceClient

	mu   sync.Mutex
	live map[string]bool // pod sandbox ids not removed yet
	seq  int             // pod name counter
}

type pod struct {
	id, name   string
	config     *cri.PodSandboxConfig
	containers []string
	logPath    string // of the first container
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "podbench: "+format+"\n", args...)
	os.Exit(1)
}

func call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), *timeout)
}

// podConfig is a sandbox config as a kubelet writes one: a uid, a log directory and a
// cgroup parent of its own (cgroupfs driver: /<prefix>/pod<uid>, like
// /kubepods/besteffort/pod<uid>).
func (b *bench) podConfig(kind string) (*cri.PodSandboxConfig, error) {
	b.mu.Lock()
	b.seq++
	name := fmt.Sprintf("%s-%s-%d", *prefix, kind, b.seq)
	b.mu.Unlock()
	logs := filepath.Join(*logRoot, name)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	return &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Namespace: "berth-podbench", Uid: name, Attempt: 0},
		Hostname:     name,
		LogDirectory: logs,
		Linux:        &cri.LinuxPodSandboxConfig{CgroupParent: "/" + *prefix + "/pod" + name},
	}, nil
}

func containerConfig(name string, cmd ...string) *cri.ContainerConfig {
	return &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: name},
		Image:    &cri.ImageSpec{Image: *imageRef},
		Command:  cmd,
		LogPath:  name + ".log",
		Linux:    &cri.LinuxContainerConfig{Resources: &cri.LinuxContainerResources{}},
	}
}

// runPod runs a pod on handler with n containers running cmd: RunPodSandbox, then
// CreateContainer and StartContainer for each. The pod is recorded for removal as soon
// as it exists.
func (b *bench) runPod(handler, kind string, n int, cmd ...string) (*pod, error) {
	cfg, err := b.podConfig(kind)
	if err != nil {
		return nil, err
	}
	p := &pod{name: cfg.Metadata.Name, config: cfg}
	ctx, cancel := call()
	defer cancel()
	r, err := b.rt.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return nil, fmt.Errorf("RunPodSandbox %s on %s: %w", p.name, handler, err)
	}
	p.id = r.PodSandboxId
	b.mu.Lock()
	b.live[p.id] = true
	b.mu.Unlock()
	for i := 0; i < n; i++ {
		cc := containerConfig(fmt.Sprintf("c%d", i), cmd...)
		c, err := b.rt.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: p.id, Config: cc, SandboxConfig: cfg})
		if err != nil {
			return p, fmt.Errorf("CreateContainer in %s: %w", p.name, err)
		}
		if _, err := b.rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
			return p, fmt.Errorf("StartContainer in %s: %w", p.name, err)
		}
		p.containers = append(p.containers, c.ContainerId)
		if i == 0 {
			p.logPath = filepath.Join(cfg.LogDirectory, cc.LogPath)
		}
	}
	return p, nil
}

// remove stops and removes the pod with its containers.
func (b *bench) remove(id string) error {
	ctx, cancel := call()
	defer cancel()
	if _, err := b.rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("StopPodSandbox %s: %w", id, err)
	}
	if _, err := b.rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("RemovePodSandbox %s: %w", id, err)
	}
	b.mu.Lock()
	delete(b.live, id)
	b.mu.Unlock()
	return nil
}

// removeAll removes the pods 4 at a time (not measured: only to be quick).
func (b *bench) removeAll(pods []*pod) error {
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	sem := make(chan struct{}, 4)
	for i, p := range pods {
		if p == nil || p.id == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = b.remove(p.id)
			os.RemoveAll(p.config.LogDirectory)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeLive removes every pod still recorded: at exit, whatever happened.
func (b *bench) removeLive() {
	b.mu.Lock()
	var pods []*pod
	for id := range b.live {
		pods = append(pods, &pod{id: id, config: &cri.PodSandboxConfig{}})
	}
	b.mu.Unlock()
	if err := b.removeAll(pods); err != nil {
		fmt.Fprintf(os.Stderr, "podbench: removing the pods left: %v\n", err)
	}
}

func (b *bench) waitRunning(id string) error {
	deadline := time.Now().Add(*timeout)
	for {
		ctx, cancel := call()
		s, err := b.rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
		cancel()
		if err != nil {
			return fmt.Errorf("ContainerStatus %s: %w", id, err)
		}
		switch s.Status.State {
		case cri.ContainerState_CONTAINER_RUNNING:
			return nil
		case cri.ContainerState_CONTAINER_EXITED:
			return fmt.Errorf("container %s exited (%d: %s)", id, s.Status.ExitCode, s.Status.Message)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s not running after %v (%v)", id, *timeout, s.Status.State)
		}
		time.Sleep(poll)
	}
}

func waitLog(path, word string) error {
	deadline := time.Now().Add(*timeout)
	for {
		// A CRI log line: "2006-01-02T15:04:05.999999999Z07:00 stdout F ready".
		if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), " "+word) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q in %s after %v", word, path, *timeout)
		}
		time.Sleep(poll)
	}
}

type startup struct{ running, logged time.Duration }

// startPod is one startup measure: the pod from RunPodSandbox until its container is
// RUNNING, and until its first output is in the CRI log. The two waits run side by side.
func (b *bench) startPod(handler, kind string) (*pod, startup, error) {
	t0 := time.Now()
	p, err := b.runPod(handler, kind, 1, "sh", "-c", "echo ready; exec sleep 100000")
	if err != nil {
		return p, startup{}, err
	}
	var s startup
	var errRun, errLog error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		errRun = b.waitRunning(p.containers[0])
		s.running = time.Since(t0)
	}()
	go func() {
		defer wg.Done()
		errLog = waitLog(p.logPath, "ready")
		s.logged = time.Since(t0)
	}()
	wg.Wait()
	return p, s, errors.Join(errRun, errLog)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// p99 by nearest rank: with fewer than 100 samples, the largest.
func p99(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(math.Ceil(0.99*float64(len(s))))-1]
}

type samples struct{ running, logged []float64 }

func (s *samples) add(x startup) {
	s.running = append(s.running, ms(x.running))
	s.logged = append(s.logged, ms(x.logged))
}

func report(mode, handler string, s samples) {
	fmt.Printf("startup mode=%s handler=%s n=%d running_median_ms=%.1f running_p99_ms=%.1f log_median_ms=%.1f log_p99_ms=%.1f\n",
		mode, handler, len(s.running), median(s.running), p99(s.running), median(s.logged), p99(s.logged))
}

// sequential: the handlers alternate pod by pod; each pod is removed before the next.
func (b *bench) sequential(hs []string) error {
	res := map[string]*samples{}
	for _, h := range hs {
		res[h] = &samples{}
	}
	for i := -*warmup; i < *seqN; i++ {
		for _, h := range hs {
			p, s, err := b.startPod(h, h+"-seq")
			if err != nil {
				return err
			}
			if err := b.removeAll([]*pod{p}); err != nil {
				return err
			}
			if i >= 0 {
				res[h].add(s)
			}
		}
	}
	for _, h := range hs {
		report("seq", h, *res[h])
	}
	return nil
}

// parallel: rounds of -parallel pods started at once, handler by handler (the order of
// the handlers turning each round); each pod timed from its own RunPodSandbox.
func (b *bench) parallel(hs []string) error {
	res := map[string]*samples{}
	for _, h := range hs {
		res[h] = &samples{}
	}
	for r := 0; r < *rounds; r++ {
		for k := range hs {
			h := hs[(k+r)%len(hs)]
			pods := make([]*pod, *parN)
			starts := make([]startup, *parN)
			errs := make([]error, *parN)
			var ready, done sync.WaitGroup
			gate := make(chan struct{})
			for i := range pods {
				ready.Add(1)
				done.Add(1)
				go func() {
					defer done.Done()
					ready.Done()
					<-gate
					pods[i], starts[i], errs[i] = b.startPod(h, h+"-par")
				}()
			}
			ready.Wait()
			close(gate)
			done.Wait()
			err := errors.Join(errs...)
			if rerr := b.removeAll(pods); err == nil {
				err = rerr
			}
			if err != nil {
				return err
			}
			for _, s := range starts {
				res[h].add(s)
			}
		}
	}
	for _, h := range hs {
		report("parallel", h, *res[h])
	}
	return nil
}

// initPid is the pid of the container's init, from ContainerStatus's verbose info.
func (b *bench) initPid(id string) (int, error) {
	ctx, cancel := call()
	defer cancel()
	s, err := b.rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("ContainerStatus %s: %w", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(s.Info["info"]), &info); err != nil || info.Pid <= 0 {
		return 0, fmt.Errorf("container %s: no pid in its verbose info (%v)", id, err)
	}
	return info.Pid, nil
}

func parentOf(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return strconv.Atoi(f[1])
}

// smapsRollup is the Rss and Pss of pid in KiB.
func smapsRollup(pid int) (rss, pss int, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Rss:":
			rss, _ = strconv.Atoi(f[1])
		case "Pss:":
			pss, _ = strconv.Atoi(f[1])
		}
	}
	return rss, pss, nil
}

// shims is the set of shim processes of the pods: the parents of their containers' inits.
func (b *bench) shims(pods []*pod) (map[int]bool, error) {
	set := map[int]bool{}
	for _, p := range pods {
		for _, c := range p.containers {
			pid, err := b.initPid(c)
			if err != nil {
				return nil, err
			}
			shim, err := parentOf(pid)
			if err != nil {
				return nil, fmt.Errorf("parent of %d (container %s): %w", pid, c, err)
			}
			set[shim] = true
		}
	}
	return set, nil
}

func (b *bench) measureMemory(h string, pods []*pod) error {
	set, err := b.shims(pods)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "podbench: %s: %d pods, %d shim processes; idle %v\n", h, len(pods), len(set), *idle)
	time.Sleep(*idle)
	var rss, pss int
	for shim := range set {
		r, p, err := smapsRollup(shim)
		if err != nil {
			return fmt.Errorf("shim %d: %w", shim, err)
		}
		rss += r
		pss += p
	}
	// The shims' executables, to show that what was measured is the handler's shim.
	exes := map[string]bool{}
	for shim := range set {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", shim))
		if err != nil {
			return fmt.Errorf("shim %d: %w", shim, err)
		}
		exes[filepath.Base(exe)] = true
	}
	var names []string
	for e := range exes {
		names = append(names, e)
	}
	sort.Strings(names)
	n := len(pods)
	fmt.Printf("memory handler=%s pods=%d containers_per_pod=%d shims=%d shim_exe=%s rss_kib_per_pod=%d pss_kib_per_pod=%d\n",
		h, n, *memCont, len(set), strings.Join(names, ","), (rss+n/2)/n, (pss+n/2)/n)
	return nil
}

// memory: handler by handler, 1 pod, then -mem-pods pods (the first and more).
func (b *bench) memory(hs []string) error {
	for _, h := range hs {
		var pods []*pod
		err := func() error {
			for len(pods) < *memPods {
				p, err := b.runPod(h, h+"-mem", *memCont, "sleep", "100000")
				pods = append(pods, p)
				if err != nil {
					return err
				}
				for _, c := range p.containers {
					if err := b.waitRunning(c); err != nil {
						return err
					}
				}
				if len(pods) == 1 {
					if err := b.measureMemory(h, pods); err != nil {
						return err
					}
				}
			}
			return b.measureMemory(h, pods)
		}()
		if rerr := b.removeAll(pods); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) pullImage() error {
	ctx, cancel := call()
	defer cancel()
	spec := &cri.ImageSpec{Image: *imageRef}
	s, err := b.img.ImageStatus(ctx, &cri.ImageStatusRequest{Image: spec})
	if err != nil {
		return fmt.Errorf("ImageStatus %s: %w", *imageRef, err)
	}
	if s.Image != nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "podbench: pulling %s\n", *imageRef)
	if _, err := b.img.PullImage(ctx, &cri.PullImageRequest{Image: spec}); err != nil {
		return fmt.Errorf("PullImage %s: %w", *imageRef, err)
	}
	return nil
}

func main() {
	flag.Parse()
	if *endpoint == "" || *logRoot == "" {
		fatal("-endpoint and -logs are required")
	}
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fatal("connect to %s: %v", *endpoint, err)
	}
	defer conn.Close()
	b := &bench{rt: cri.NewRuntimeServiceClient(conn), img: cri.NewImageServiceClient(conn), live: map[string]bool{}}
	hs := strings.Split(*handlers, ",")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "podbench: %v: removing the pods\n", s)
		b.removeLive()
		os.Exit(1)
	}()

	steps := []struct {
		name string
		run  func([]string) error
	}{
		{"sequential", b.sequential},
		{"parallel", b.parallel},
		{"memory", b.memory},
	}
	err = b.pullImage()
	for _, s := range steps {
		if err != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "podbench: %s\n", s.name)
		err = s.run(hs)
	}
	b.removeLive()
	if err != nil {
		fatal("%v", err)
	}
}
