// Package killtest is the kill test the store modules share: SEP-12
// callbacks delivered through two replica processes that are killed
// mid-function, mid-commit and from outside, while the store's server is
// stopped as a crash does and started again, and the app's effects counted
// afterwards.
//
// For most uses, call [Main] from the module's TestMain, [Deliver] from the
// test, and [Check] on the effects the module reads back. A module keeps
// what is its own: starting and stopping its server, building its store,
// and the app's table of effects. The replica process is the module's test
// binary run again; its function calls [AfterEffect] once its effect is
// written, and its store calls [DuringConfirm] in Confirm.
//
// Only tests import this package; it imports the standard library, the
// root package and send, so it adds no dependency to any module.
package killtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/send"
)

// Customers is how many customers a run sends callbacks for.
const Customers = 200

// Statuses are each customer's callbacks, in order: a review accepted,
// reopened and accepted again. The third body is byte for byte the first.
var Statuses = []kyccb.Status{kyccb.StatusAccepted, kyccb.StatusNeedsInfo, kyccb.StatusAccepted}

// replicaEnv gives a replica process the address to listen on.
const replicaEnv = "KYCCB_KILLTEST_REPLICA"

// Main runs replica instead of the tests when [Deliver] started the test
// binary as a replica, and runs the tests otherwise; it does not return.
// replica serves callbacks at addr until the process is killed.
func Main(m *testing.M, replica func(addr string) error) {
	if addr := os.Getenv(replicaEnv); addr != "" {
		if err := replica(addr); err != nil {
			fmt.Fprintln(os.Stderr, "replica:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// AfterEffect is called by a replica's function once its effect is
// written: it sleeps up to 3 ms, as a function doing more work would, and
// kills the process one time in 60 (mid-function).
func AfterEffect() {
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	if rand.IntN(60) == 0 {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}

// DuringConfirm is called by a replica's store as Confirm begins: one
// time in 60 it kills the process within the next 2 ms, a random moment of
// Confirm (mid-commit: before, during or after the commit reaches the
// server).
func DuringConfirm() {
	if rand.IntN(60) == 0 {
		go func() {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
	}
}

// Setup is what a module gives [Deliver] for one run.
type Setup struct {
	// Seed signs the callbacks; the replicas verify them with its address.
	Seed string
	// Body returns the body of a customer's callback.
	Body func(id string, st kyccb.Status) []byte
	// Env is added to the replicas' environment ("NAME=value"): where their
	// store and the app's table are.
	Env []string
	// Server names the store's server in messages ("PostgreSQL").
	Server string
	// Crash stops the server as a crash does; Restart starts it again.
	Crash, Restart func() error
}

// Deliver runs the callbacks: Customers customers, each with Statuses in
// order, each callback delivered twice at once, to each of two replica
// processes that kill themselves mid-function and mid-commit and are killed
// from outside every 250 ms. Once a quarter of the customers are done, the
// server is crashed and, two seconds later, restarted. Every callback must
// be answered 200 in the senders' retries. Deliver fails the test if the
// server was not crashed or the replicas died fewer than ten times, too few
// to prove anything.
func Deliver(t *testing.T, s Setup) {
	t.Helper()
	reps := []*replica{startReplica(t, s.Env), startReplica(t, s.Env)}
	senders := senders(t, s.Seed)
	var completed, external atomic.Int64
	stopKilling := make(chan struct{})
	var killers sync.WaitGroup
	killers.Go(func() {
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(250 * time.Millisecond):
			}
			reps[rand.IntN(len(reps))].kill()
			external.Add(1)
		}
	})
	var outage time.Duration
	killers.Go(func() {
		for completed.Load() < Customers/4 {
			select {
			case <-stopKilling:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		if err := s.Crash(); err != nil {
			t.Error(err)
			return
		}
		start := time.Now()
		time.Sleep(2 * time.Second)
		if err := s.Restart(); err != nil {
			t.Error(err)
		}
		outage = time.Since(start)
	})

	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				id := customerID(i)
				for i, st := range Statuses {
					var twins sync.WaitGroup
					for _, r := range reps {
						twins.Go(func() {
							d, err := senders[i].Send(context.Background(), "http://"+r.addr+"/", s.Body(id, st))
							if err != nil || d.StatusCode != http.StatusOK {
								t.Errorf("customer %s, %s: %d, %v after %d attempts", id, st, d.StatusCode, err, len(d.Attempts))
							}
						})
					}
					twins.Wait()
				}
				completed.Add(1)
			}
		})
	}
	for i := range Customers {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	close(stopKilling)
	killers.Wait()
	var deaths int64
	for _, r := range reps {
		r.stop()
		deaths += r.deaths.Load()
	}

	t.Logf("%d callbacks in %s; replicas died %d times (%d SIGKILLs sent from outside, the rest mid-function or mid-commit); %s down %s",
		Customers*len(Statuses), elapsed.Round(time.Millisecond), deaths, external.Load(), s.Server, outage.Round(time.Millisecond))
	if outage == 0 {
		t.Errorf("%s was not crashed and started again during the run", s.Server)
	}
	if deaths < 10 {
		t.Errorf("replicas died %d times, want at least 10: the test killed too little to prove anything", deaths)
	}
}

// An Effect is one row of the app's table: a status applied to a customer.
type Effect struct {
	Customer string
	Status   kyccb.Status
}

// Check compares the app's effects, counted, with the callbacks
// [Deliver] sent: each customer's ACCEPTED applied twice and NEEDS_INFO
// once. It fails the test for each customer with an effect missing (naming
// the first five), and returns how many customers had an effect applied
// more than once, which a store that commits the record with the effect
// must make zero.
func Check(t *testing.T, got map[Effect]int) (twice int) {
	t.Helper()
	total, missing := 0, 0
	for _, n := range got {
		total += n
	}
	for i := range Customers {
		id := customerID(i)
		a, b := got[Effect{id, kyccb.StatusAccepted}], got[Effect{id, kyccb.StatusNeedsInfo}]
		if a < 2 || b < 1 {
			missing++
			if missing <= 5 {
				t.Errorf("customer %s: ACCEPTED applied %d times, NEEDS_INFO %d; want at least 2 and 1", id, a, b)
			}
		}
		if a > 2 || b > 1 {
			twice++
		}
	}
	if missing > 0 {
		t.Errorf("%d customers with an effect missing", missing)
	}
	t.Logf("the app's table holds %d effects (%d more than the callbacks), %d customers with an effect more than once",
		total, total-Customers*len(Statuses), twice)
	return twice
}

func customerID(i int) string { return "k-" + strconv.Itoa(i) }

// senders returns a sender for each of Statuses. A customer's three
// callbacks come here within a second, where an anchor sends a return to
// ACCEPTED seconds or more after the first; and a SEP-12 signature covers
// whole seconds, the host and the body, so that the third would often be,
// byte for byte, a request signed for the first: a replay, answered 200
// without running the function. Each sender therefore signs a second ahead
// of the one before it (two seconds at most, well within the verifier's
// tolerance), and the third callback is a request of its own.
func senders(t *testing.T, seed string) []*send.Sender {
	t.Helper()
	senders := make([]*send.Sender, len(Statuses))
	for i := range senders {
		ahead := time.Duration(i) * time.Second
		s, err := send.NewSEP12(seed, send.WithAttempts(100), send.WithBackoff(20*time.Millisecond, 300*time.Millisecond),
			send.WithRequestTimeout(5*time.Second), send.WithClock(func() time.Time { return time.Now().Add(ahead) }))
		if err != nil {
			t.Fatal(err)
		}
		senders[i] = s
	}
	return senders
}

// replica keeps one replica process running at addr, starting it again
// whenever it dies, until stop.
type replica struct {
	addr   string
	env    []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	deaths atomic.Int64
	done   chan struct{}
	wg     sync.WaitGroup
}

// startReplica runs the test binary again as a replica, with env added to
// its environment.
func startReplica(t *testing.T, env []string) *replica {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &replica{addr: addr, done: make(chan struct{}),
		env: append(append(os.Environ(), replicaEnv+"="+addr), env...)}
	p.wg.Go(func() {
		for {
			cmd := exec.Command(exe)
			cmd.Env = p.env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Errorf("starting a replica: %v", err)
				return
			}
			p.mu.Lock()
			p.cmd = cmd
			p.mu.Unlock()
			err := cmd.Wait()
			select {
			case <-p.done:
				return
			default:
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("a replica ended other than by SIGKILL: %v\n%s", err, stderr.String())
				return
			}
			p.deaths.Add(1)
		}
	})
	t.Cleanup(p.stop)
	return p
}

// kill sends the running replica SIGKILL; it is started again.
func (p *replica) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

func (p *replica) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.kill()
	p.wg.Wait()
}
