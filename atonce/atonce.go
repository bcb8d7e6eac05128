// Package atonce is the tests' way to run n goroutines released together,
// so that a race a test means to provoke really happens: every goroutine is
// started and waiting on one shared barrier before any of them begins its
// work. It imports the standard library only, so any test package of ours,
// store's internal tests included, may use it.
package atonce

import "sync"

// Run calls f(0) … f(n-1), each on a goroutine of its own. The goroutines
// wait on one barrier, which opens once all n have started; Run returns
// when every call has returned.
func Run(n int, f func(i int)) {
	var started, finished sync.WaitGroup
	barrier := make(chan struct{})
	started.Add(n)
	for i := range n {
		finished.Go(func() {
			started.Done()
			<-barrier
			f(i)
		})
	}
	started.Wait()
	close(barrier)
	finished.Wait()
}

// Errors is Run for calls that fail: it returns each call's error, the
// error of f(i) at index i.
func Errors(n int, f func(i int) error) []error {
	errs := make([]error, n)
	Run(n, func(i int) { errs[i] = f(i) })
	return errs
}
