//go:build ignore

// nodirs rewrites the zip file named by its argument without its directory
// entries. A zip from git archive lists directories; a module zip from a
// module proxy lists only files, and the go command hashes what a zip
// lists, so a module zip must not hold directory entries.
//
//	go run .ci/nodirs.go module.zip
package main

import (
	"archive/zip"
	"bytes"
	"log"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run .ci/nodirs.go file.zip")
	}
	name := os.Args[1]
	r, err := zip.OpenReader(name)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for _, f := range r.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if err := w.Copy(f); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	_ = r.Close()
	if err := os.WriteFile(name, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
