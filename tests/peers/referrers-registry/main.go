// Command referrers-registry is a test peer for ferrosign: an in-memory OCI registry with the OCI 1.1
// referrers API (GET /v2/<name>/referrers/<digest>) switched on, listening on 127.0.0.1 only.
//
// It is go-containerregistry's pkg/registry (the registry behind `crane registry serve`, which leaves the
// referrers API off) with registry.WithReferrersSupport(true). What that implementation does and does not
// do (see docs/cosign-bundle-layout.md): a referrer's artifactType is its config media type (the
// manifest's own artifactType is ignored), the manifest annotations are copied, the artifactType query
// filter is ignored (no OCI-Filters-Applied header), there is no pagination (no Link header), the order
// is that of a Go map (random), a manifest PUT with a subject gets no OCI-Subject header, and an unknown
// repository answers 404 NAME_UNKNOWN.
//
// Usage: referrers-registry [-port N] [-watch-stdin] [-verbose] [-access-log FILE]
// It prints one line "READY 127.0.0.1:PORT" on stdout once it accepts connections. With -access-log it
// appends one line per answered request to FILE, in the shape of docker-registry's access log (what
// bench/run.sh counts): `127.0.0.1 "METHOD REQUEST-URI PROTO" STATUS BYTES`, written when the answer is.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free port)")
	watchStdin := flag.Bool("watch-stdin", false, "exit when standard input closes (tests keep a pipe open)")
	verbose := flag.Bool("verbose", false, "log every request to stderr")
	accessLog := flag.String("access-log", "", "append one line per answered request to this file")
	flag.Parse()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "referrers-registry: %v\n", err)
		os.Exit(1)
	}
	logger := log.New(io.Discard, "", 0)
	if *verbose {
		logger = log.New(os.Stderr, "referrers-registry: ", log.LstdFlags)
	}
	var handler http.Handler = registry.New(registry.WithReferrersSupport(true), registry.Logger(logger))
	if *accessLog != "" {
		f, err := os.OpenFile(*accessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "referrers-registry: %v\n", err)
			os.Exit(1)
		}
		handler = &accessLogger{next: handler, out: f}
	}
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	fmt.Printf("READY %s\n", ln.Addr())
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "referrers-registry: %v\n", err)
		os.Exit(1)
	}
}

// accessLogger writes one line per request to out after the wrapped handler answered it.
type accessLogger struct {
	next http.Handler
	mu   sync.Mutex
	out  *os.File
}

// recorder remembers the status and the body size that a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (a *accessLogger) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := &recorder{ResponseWriter: w}
	a.next.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, "127.0.0.1 \"%s %s %s\" %d %d\n", req.Method, req.RequestURI, req.Proto, rec.status, rec.bytes)
}
