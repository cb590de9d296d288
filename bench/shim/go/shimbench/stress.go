package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/containerd/containerd"
	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/typeurl"
)

// order tracks the task events of one process (an init or an exec) as they arrive.
type order struct {
	created, started, exited, deleted bool
}

type checker struct {
	mu         sync.Mutex
	procs      map[string]*order // "container/process"
	violations []string
	exits      int
}

func (c *checker) bad(format string, args ...interface{}) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

func (c *checker) proc(container, id string) *order {
	key := container + "/" + id
	o := c.procs[key]
	if o == nil {
		o = &order{}
		c.procs[key] = o
	}
	return o
}

// The rules of containerd's runtime v2 README (seed 000): create < start < exit <
// delete for an init; exec-added < exec-started < exit for an exec.
func (c *checker) observe(v interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := v.(type) {
	case *eventtypes.TaskCreate:
		c.proc(e.ContainerID, e.ContainerID).created = true
	case *eventtypes.TaskStart:
		o := c.proc(e.ContainerID, e.ContainerID)
		if !o.created {
			c.bad("%s: start before create", e.ContainerID)
		}
		o.started = true
	case *eventtypes.TaskExecAdded:
		c.proc(e.ContainerID, e.ExecID).created = true
	case *eventtypes.TaskExecStarted:
		o := c.proc(e.ContainerID, e.ExecID)
		if !o.created {
			c.bad("%s/%s: exec-started before exec-added", e.ContainerID, e.ExecID)
		}
		o.started = true
	case *eventtypes.TaskExit:
		o := c.proc(e.ContainerID, e.ID)
		if !o.started {
			c.bad("%s/%s: exit before start", e.ContainerID, e.ID)
		}
		if o.exited {
			c.bad("%s/%s: second exit", e.ContainerID, e.ID)
		}
		o.exited = true
		c.exits++
	case *eventtypes.TaskDelete:
		o := c.proc(e.ContainerID, e.ContainerID)
		if o.started && !o.exited {
			c.bad("%s: delete before exit", e.ContainerID)
		}
		o.deleted = true
	}
}

func (b *bench) stress(runs, execs, parallel int) int {
	chk := &checker{procs: map[string]*order{}}
	evs, errs := b.client.Subscribe(b.ctx, `topic~="/tasks/"`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case env := <-evs:
				v, err := typeurl.UnmarshalAny(env.Event)
				if err == nil && env.Namespace == *namespace {
					chk.observe(v)
				}
			case <-errs:
				return
			case <-time.After(3 * time.Second):
				return
			}
		}
	}()
	start := time.Now()
	jobs := make(chan func(), parallel)
	var wg sync.WaitGroup
	failures := 0
	var fmu sync.Mutex
	fail := func(err error) {
		fmu.Lock()
		failures++
		if failures <= 5 {
			fmt.Println("error:", err)
		}
		fmu.Unlock()
	}
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j()
			}
		}()
	}
	// Execs go into a few long-lived containers, so they race their own starts.
	hosts := []containerd.Task{}
	for h := 0; h < parallel && execs > 0; h++ {
		id := fmt.Sprintf("%s-host-%d", *prefix, h)
		c, err := b.client.NewContainer(b.ctx, id, containerd.WithImage(b.image),
			containerd.WithNewSnapshot(id, b.image), withRuntime(),
			b.withSpec("sleep", "100000"))
		if err != nil {
			fatal("host container: %v", err)
		}
		t, err := c.NewTask(b.ctx, cio.NullIO)
		if err != nil {
			fatal("host task: %v", err)
		}
		if err := t.Start(b.ctx); err != nil {
			fatal("host start: %v", err)
		}
		hosts = append(hosts, t)
	}
	for i := 0; i < runs || i < execs; i++ {
		i := i
		if i < runs {
			jobs <- func() {
				if _, err := b.runTask(fmt.Sprintf("%s-run-%d", *prefix, i), "true"); err != nil {
					fail(err)
				}
			}
		}
		if i < execs {
			host := hosts[i%len(hosts)]
			jobs <- func() {
				spec, _ := host.Spec(b.ctx)
				pspec := *spec.Process
				pspec.Args = []string{"true"}
				p, err := host.Exec(b.ctx, fmt.Sprintf("x%d", i), &pspec, cio.NullIO)
				if err != nil {
					fail(err)
					return
				}
				wait, err := p.Wait(b.ctx)
				if err == nil {
					err = p.Start(b.ctx)
				}
				if err != nil {
					fail(err)
					p.Delete(b.ctx)
					return
				}
				<-wait
				p.Delete(b.ctx)
			}
		}
	}
	close(jobs)
	wg.Wait()
	for _, t := range hosts {
		t.Kill(b.ctx, 9)
		w, _ := t.Wait(b.ctx)
		<-w
		t.Delete(b.ctx)
		c, _ := b.client.LoadContainer(b.ctx, t.ID())
		c.Delete(b.ctx, containerd.WithSnapshotCleanup)
	}
	elapsed := time.Since(start)
	<-done
	chk.mu.Lock()
	defer chk.mu.Unlock()
	for i, v := range chk.violations {
		if i < 20 {
			fmt.Println("violation:", v)
		}
	}
	// Every process exits once: the runs, the execs and the host containers.
	if want := runs + execs + len(hosts); chk.exits != want {
		chk.bad("%d exits seen, %d expected", chk.exits, want)
	}
	fmt.Printf("runtime=%s runs=%d execs=%d parallel=%d seconds=%.1f exits_seen=%d errors=%d violations=%d\n",
		*runtime, runs, execs, parallel, elapsed.Seconds(), chk.exits, failures, len(chk.violations))
	if failures > 0 && len(chk.violations) == 0 {
		return failures
	}
	return len(chk.violations)
}
