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
// Usage: referrers-registry [-port N] [-watch-stdin] [-verbose]
// It prints one line "READY 127.0.0.1:PORT" on stdout once it accepts connections.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free port)")
	watchStdin := flag.Bool("watch-stdin", false, "exit when standard input closes (tests keep a pipe open)")
	verbose := flag.Bool("verbose", false, "log every request to stderr")
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
	handler := registry.New(registry.WithReferrersSupport(true), registry.Logger(logger))
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
