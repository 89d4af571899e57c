// Hashes the files named on the command line with Go's crypto/sha256, the implementation the
// docker-registry (distribution, written in Go) hashes every upload with, and prints the
// seconds it took: the floor of a mirror into that registry, measured with the registry's own
// hash rather than coreutils'.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	start := time.Now()
	buf := make([]byte, 32*1024) // the registry's io.Copy buffer
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		h := sha256.New()
		if _, err := io.CopyBuffer(h, f, buf); err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(1)
		}
		f.Close()
	}
	fmt.Printf("%.2f\n", time.Since(start).Seconds())
}
