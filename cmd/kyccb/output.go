package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// outLimits are the limits of listen's output queue.
type outLimits struct {
	// maxQueuedBytes bounds the lines waiting for standard output. A line
	// that does not fit is dropped and counted: a stalled terminal or pipe
	// must not make listen keep every callback it receives.
	maxQueuedBytes int

	// stallAfter is how long one write to standard output may take before
	// the output counts as stalled: from then on, until the write returns,
	// no reply waits for its line.
	stallAfter time.Duration

	// maxLineWait bounds how long a reply waits for its line when the
	// output is slow without being stalled.
	maxLineWait time.Duration
}

// outputLimits are the limits each new output takes. Tests shrink them.
var outputLimits = outLimits{
	maxQueuedBytes: 1 << 20,
	stallAfter:     100 * time.Millisecond,
	maxLineWait:    time.Second,
}

// output writes listen's lines to w from a goroutine of its own, in the
// order they were printed, so that no reply waits on w for long: a
// terminal at a pager's prompt, one paused with Ctrl-S, or a pipe nobody
// reads would otherwise hold every reply. While w keeps up, a reply is
// sent after its line is written, so whoever sent the callback finds it
// printed when the reply arrives; when w stalls, replies go out at once
// and what does not fit in the queue is dropped, counted, and reported in
// the output when it drains and on stopping. It is safe for concurrent
// use.
type output struct {
	w      io.Writer
	json   bool
	limits outLimits

	mu       sync.Mutex
	cond     *sync.Cond // signalled when the queue gains a line or closes
	queue    []*outLine
	queued   int           // bytes in queue
	writing  bool          // a line is being written
	dropped  int           // lines dropped since the last queued one
	total    int           // lines dropped in all
	stalled  chan struct{} // closed while the current write is stalled
	closing  bool
	finished chan struct{} // closed when the writer has stopped
}

// outLine is one line waiting to be written; droppedBefore counts the
// lines dropped just before it.
type outLine struct {
	b             []byte
	droppedBefore int
	done          chan struct{} // closed once b is written
}

func newOutput(w io.Writer, asJSON bool) *output {
	o := &output{w: w, json: asJSON, stalled: make(chan struct{}), finished: make(chan struct{}), limits: outputLimits}
	o.cond = sync.NewCond(&o.mu)
	go o.run()
	return o
}

// print queues line, a complete line or block of lines, and waits until it
// is written, the output stalls, or maxLineWait has passed. A line that
// does not fit in the queue is dropped and counted, without waiting.
func (o *output) print(line []byte) {
	o.mu.Lock()
	if o.closing || o.queued+len(line) > o.limits.maxQueuedBytes {
		o.dropped++
		o.total++
		o.cond.Signal()
		o.mu.Unlock()
		return
	}
	l := &outLine{b: line, droppedBefore: o.dropped, done: make(chan struct{})}
	o.dropped = 0
	o.queue = append(o.queue, l)
	o.queued += len(line)
	stalled := o.stalled
	o.cond.Signal()
	o.mu.Unlock()

	t := time.NewTimer(o.limits.maxLineWait)
	defer t.Stop()
	select {
	case <-l.done:
	case <-stalled:
	case <-t.C:
	}
}

// run writes the queued lines until close.
func (o *output) run() {
	defer close(o.finished)
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		for len(o.queue) == 0 && o.dropped == 0 && !o.closing {
			o.cond.Wait()
		}
		if len(o.queue) == 0 && o.dropped > 0 {
			// Lines were dropped after the last one queued: say so once
			// the output has caught up.
			n := o.dropped
			o.dropped = 0
			o.mu.Unlock()
			o.w.Write(o.droppedLine(n))
			o.mu.Lock()
			continue
		}
		if len(o.queue) == 0 {
			return
		}
		l := o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		stalled := o.stalled
		o.writing = true
		o.mu.Unlock()

		watch := time.AfterFunc(o.limits.stallAfter, func() { close(stalled) })
		if l.droppedBefore > 0 {
			o.w.Write(o.droppedLine(l.droppedBefore))
		}
		o.w.Write(l.b)
		close(l.done)

		o.mu.Lock()
		o.writing = false
		o.queued -= len(l.b)
		if !watch.Stop() {
			o.stalled = make(chan struct{}) // the stall is over
		}
	}
}

// droppedLine says that n lines were dropped, in the output's format.
func (o *output) droppedLine(n int) []byte {
	note := "standard output did not keep up; their replies were sent"
	if o.json {
		b, _ := json.Marshal(struct {
			NotPrinted int    `json:"not_printed"`
			Note       string `json:"note"`
		}{n, note})
		return append(b, '\n')
	}
	return fmt.Appendf(nil, "kyccb listen: %s not printed: %s\n", plural(n, "callback"), note)
}

// close writes what is queued, waiting at most wait for the output, and
// returns how many lines were dropped in all, those left in the queue
// included.
func (o *output) close(wait time.Duration) int {
	o.mu.Lock()
	o.closing = true
	o.cond.Signal()
	o.mu.Unlock()
	select {
	case <-o.finished:
	case <-time.After(wait):
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.total + len(o.queue) // total counts every line dropped so far
	if o.writing {
		n++
	}
	return n
}
