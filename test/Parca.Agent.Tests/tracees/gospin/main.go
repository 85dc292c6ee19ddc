// Tracee for the Go symbolization test: main.main -> main.outer -> main.(*worker).spin, CPU-bound for os.Args[1]
// seconds. Built stripped (-ldflags=-s): the agent must name its frames from .gopclntab alone.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

type worker struct{ n uint64 }

// mix is called so that spin is not a frameless leaf: Go omits the frame-pointer prologue of leaves without a
// stack frame, and a frame-pointer walk from inside one skips its caller.
//
//go:noinline
func mix(x uint64) uint64 { return x ^ (x >> 31) }

//go:noinline
func (w *worker) spin(k int) uint64 {
	for i := 0; i < k; i++ {
		w.n = w.n*6364136223846793005 + uint64(i)
	}
	return mix(w.n)
}

//go:noinline
func outer(k int) uint64 {
	w := &worker{}
	return w.spin(k) + 1
}

func main() {
	seconds, _ := strconv.ParseFloat(os.Args[1], 64)
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var sink uint64
	for time.Now().Before(deadline) {
		sink += outer(2000000)
	}
	fmt.Println(sink)
}
