package desk

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// bigMessage is the size from which handling a message tightens the
// garbage collector.
const bigMessage = 4 << 20

var memMu sync.Mutex

// tightenMemory lowers the Go runtime's soft memory limit to just above
// the live heap while a large message is handled, and returns what
// restores it. The decrypted copy, the parsed parts and the store's pages then do
// not pile up as garbage on top of the message (the heap would otherwise
// grow to twice what is live before collecting): a 47 MB answer costs
// about its own size again, not four times it. Small messages, and a
// process run with GOMEMLIMIT, are left alone.
func tightenMemory(size int) (restore func()) {
	if size < bigMessage || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	memMu.Lock()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	live := int64(0)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(sample[0].Value.Uint64())
	}
	// The live heap usually holds the message already (its fetch made the
	// collector run): a limit just above it makes the collector keep up
	// with what parsing and storing throw away. Below what is live, it only
	// makes the collector run more often while this message is handled.
	old := debug.SetMemoryLimit(live + 8<<20)
	return func() {
		debug.SetMemoryLimit(old)
		memMu.Unlock()
	}
}
