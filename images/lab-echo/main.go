// Command lab-echo is the backend of the lab's LoadBalancer Service (./carp lab, LabStoryTest): on :8080 it answers
// every HTTP request with one line naming its pod and node, and on :9000 it echoes every byte it receives, for the
// lab's long-lived TCP sessions (TcpStreamsMain's protocol: each connection starts with the client's 8-byte seed,
// which is read and not echoed; every byte after it is echoed). Only the Go standard library, so that
// scripts/build-images.sh --offline builds it with GOPROXY=off. SIGTERM ends it with status 0.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("lab-echo (carp-operator)", version)
		return
	}
	pod, node := os.Getenv("POD_NAME"), os.Getenv("NODE_NAME")
	if pod == "" {
		pod, _ = os.Hostname()
	}
	go func() {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s on %s\n", pod, node)
		})
		log.Fatal(http.ListenAndServe(":8080", nil))
	}()
	go echo(":9000")
	log.Printf("lab-echo %s: http on :8080, echo on :9000 (pod %s, node %s)", version, pod, node)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

func echo(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			continue
		}
		go func() {
			defer c.Close()
			seed := make([]byte, 8)
			if _, err := io.ReadFull(c, seed); err != nil {
				return
			}
			_, _ = io.Copy(c, c)
		}()
	}
}
