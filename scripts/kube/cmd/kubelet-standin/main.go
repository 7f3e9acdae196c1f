// kubelet-standin serves the two kubelet endpoints that kube-apiserver proxies pod logs and
// port-forwards to, so that the tests' real apiserver has a node to talk to without a container
// runtime:
//
//	GET /containerLogs/{namespace}/{pod}/{container}  follow, tailLines (tail), sinceSeconds,
//	    sinceTime, limitBytes, timestamps, previous — the query of v1.PodLogOptions, validated
//	    and answered with the kubelet's status codes
//	GET /portForward/{namespace}/{pod}[/{uid}]         SPDY or websocket (v4.channel.k8s.io),
//	    served by k8s.io/cri-streaming's portforward package — the kubelet's own code
//
// What each pod has is read from files under --root at every request, so a test changes it by
// writing files:
//
//	ROOT/pods/{ns}/{pod}/{container}.log           the current container's log: one line per
//	                                               entry, "RFC3339Nano-timestamp text"
//	ROOT/pods/{ns}/{pod}/{container}.previous.log  the previous instance's log (?previous=true)
//	ROOT/pods/{ns}/{pod}/{container}.done          present: the container has exited, so a
//	                                               follow ends at the end of the file
//	ROOT/pods/{ns}/{pod}/forward/{port}            "host:port" on loopback that port-forwards
//	                                               to {port} of the pod reach
//
// A pod is on this node when ROOT/pods/{ns}/{pod} exists; otherwise 404 as the kubelet answers.
// Every request is logged to stderr as `kubelet-standin: METHOD PATH?QUERY` when it arrives and,
// but for port-forwards, `kubelet-standin: METHOD PATH?QUERY -> STATUS` when it ends.
// It listens with TLS on --listen (host:0 picks a port) with a self-signed certificate made at
// start (the apiserver does not verify the kubelet's certificate unless told to) and writes the
// chosen address to --addr-file once listening.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

var root string

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	addrFile := flag.String("addr-file", "", "file to write the listening address to")
	flag.StringVar(&root, "root", "", "directory of the pods' logs and forward targets")
	flag.Parse()
	if root == "" {
		fmt.Fprintln(os.Stderr, "kubelet-standin: --root is required")
		os.Exit(2)
	}
	cert, err := selfSigned()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-standin: certificate: %v\n", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-standin: listen %s: %v\n", *listen, err)
		os.Exit(1)
	}
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "kubelet-standin: %v\n", err)
			os.Exit(1)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			fmt.Fprintf(os.Stderr, "kubelet-standin: %v\n", err)
			os.Exit(1)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", containerLogs)
	mux.HandleFunc("/portForward/", portForward)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{
		Handler: logged(mux),
		// Upgrades (SPDY, websocket) need HTTP/1.1: no HTTP/2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	fmt.Fprintf(os.Stderr, "kubelet-standin: serving on %s, pods under %s\n", ln.Addr(), root)
	if err := srv.ServeTLS(ln, "", ""); err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-standin: %v\n", err)
		os.Exit(1)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Upgrades need the original writer (it is a Hijacker); log them before serving.
		if strings.HasPrefix(r.URL.Path, "/portForward/") {
			fmt.Fprintf(os.Stderr, "kubelet-standin: %s %s upgrade=%q protocols=%q\n", r.Method, r.URL.RequestURI(),
				r.Header.Get("Upgrade"), r.Header.Values("Sec-Websocket-Protocol"))
			next.ServeHTTP(w, r)
			return
		}
		// A followed log stays open: say it started, and how it ended.
		fmt.Fprintf(os.Stderr, "kubelet-standin: %s %s\n", r.Method, r.URL.RequestURI())
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		fmt.Fprintf(os.Stderr, "kubelet-standin: %s %s -> %d\n", r.Method, r.URL.RequestURI(), sw.status)
	})
}

// podDir is the pod's directory when the pod is on this node.
func podDir(namespace, pod string) (string, bool) {
	if namespace == "" || pod == "" || strings.Contains(namespace, "..") || strings.Contains(pod, "..") {
		return "", false
	}
	dir := filepath.Join(root, "pods", namespace, pod)
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// decodeLogOptions reads the query parameters of v1.PodLogOptions (the kubelet decodes them
// with the API's parameter codec; the same names and types here).
func decodeLogOptions(query url.Values) (*v1.PodLogOptions, error) {
	opts := &v1.PodLogOptions{}
	var err error
	boolean := func(name string, into *bool) {
		if v, ok := query[name]; ok && err == nil && len(v) > 0 {
			if v[0] == "" {
				*into = true
				return
			}
			*into, err = strconv.ParseBool(v[0])
		}
	}
	integer := func(name string) *int64 {
		if v, ok := query[name]; ok && err == nil && len(v) > 0 {
			var n int64
			n, err = strconv.ParseInt(v[0], 10, 64)
			return &n
		}
		return nil
	}
	boolean("follow", &opts.Follow)
	boolean("previous", &opts.Previous)
	boolean("timestamps", &opts.Timestamps)
	boolean("insecureSkipTLSVerifyBackend", &opts.InsecureSkipTLSVerifyBackend)
	opts.TailLines = integer("tailLines")
	opts.LimitBytes = integer("limitBytes")
	opts.SinceSeconds = integer("sinceSeconds")
	if v := query.Get("sinceTime"); v != "" && err == nil {
		var t time.Time
		t, err = time.Parse(time.RFC3339, v)
		opts.SinceTime = &metav1.Time{Time: t}
	}
	opts.Container = query.Get("container")
	return opts, err
}

func containerLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		http.Error(w, `{"message": "Missing podNamespace, podID or container name."}`, http.StatusBadRequest)
		return
	}
	namespace, pod, container := parts[0], parts[1], parts[2]
	query := r.URL.Query()
	if tail := query.Get("tail"); tail != "" {
		query["tailLines"] = []string{tail}
		if tail == "all" {
			delete(query, "tailLines")
		}
	}
	opts, err := decodeLogOptions(query)
	if err != nil {
		http.Error(w, `{"message": "Unable to decode query."}`, http.StatusBadRequest)
		return
	}
	if (opts.TailLines != nil && *opts.TailLines < 0) || (opts.LimitBytes != nil && *opts.LimitBytes < 1) ||
		(opts.SinceSeconds != nil && *opts.SinceSeconds < 1) || (opts.SinceSeconds != nil && opts.SinceTime != nil) {
		http.Error(w, `{"message": "Invalid request."}`, http.StatusUnprocessableEntity)
		return
	}
	dir, ok := podDir(namespace, pod)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %q does not exist", pod), http.StatusNotFound)
		return
	}
	name := container + ".log"
	if opts.Previous {
		name = container + ".previous.log"
	}
	path := filepath.Join(dir, name)
	if opts.Previous {
		if _, err := os.Stat(path); err != nil {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod), http.StatusBadRequest)
			return
		}
	}
	// A running container that has written nothing yet has an empty log.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is not available: %v", container, pod, err), http.StatusBadRequest)
		return
	}
	defer f.Close()

	var since time.Time
	if opts.SinceSeconds != nil {
		since = time.Now().Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	} else if opts.SinceTime != nil {
		since = opts.SinceTime.Time
	}
	limit := int64(-1)
	if opts.LimitBytes != nil {
		limit = *opts.LimitBytes
	}
	out := &limitedFlusher{w: w, left: limit}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)

	reader := bufio.NewReader(f)
	var lines [][]byte
	var partial []byte
	readLines := func() {
		for {
			chunk, err := reader.ReadBytes('\n')
			partial = append(partial, chunk...)
			if err != nil {
				return
			}
			lines = append(lines, partial)
			partial = nil
		}
	}
	emit := func(line []byte) bool {
		ts, text, ok := splitEntry(line)
		if !ok {
			return true
		}
		if !since.IsZero() && ts.Before(since) {
			return true
		}
		var b []byte
		if opts.Timestamps {
			b = append([]byte(ts.UTC().Format(time.RFC3339Nano)+" "), text...)
		} else {
			b = text
		}
		return out.write(append(b, '\n'))
	}
	readLines()
	start := 0
	if opts.TailLines != nil && int64(len(lines)) > *opts.TailLines {
		start = len(lines) - int(*opts.TailLines)
	}
	for _, l := range lines[start:] {
		if !emit(l) {
			return
		}
	}
	if !opts.Follow {
		return
	}
	done := filepath.Join(dir, container+".done")
	for {
		lines = lines[:0]
		readLines()
		for _, l := range lines {
			if !emit(l) {
				return
			}
		}
		if _, err := os.Stat(done); err == nil && len(lines) == 0 {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// splitEntry parses "TIMESTAMP text\n".
func splitEntry(line []byte) (time.Time, []byte, bool) {
	line = bytes.TrimRight(line, "\r\n")
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return time.Time{}, nil, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(line[:sp]))
	if err != nil {
		return time.Time{}, nil, false
	}
	return ts, line[sp+1:], true
}

// limitedFlusher writes whole entries, cutting the last at limitBytes as the kubelet does,
// and flushes after each.
type limitedFlusher struct {
	w    http.ResponseWriter
	left int64
}

func (l *limitedFlusher) write(b []byte) bool {
	if l.left == 0 {
		return false
	}
	if l.left > 0 && int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.w.Write(b)
	if l.left > 0 {
		l.left -= int64(n)
	}
	if f, ok := l.w.(http.Flusher); ok {
		f.Flush()
	}
	return err == nil && l.left != 0
}

func portForward(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/portForward/"), "/")
	if len(parts) < 2 || len(parts) > 3 {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return
	}
	namespace, pod := parts[0], parts[1]
	dir, ok := podDir(namespace, pod)
	if !ok {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(w, r, forwarder{dir: dir}, pod, "", opts,
		4*time.Hour, 30*time.Second, portforward.SupportedProtocols)
}

// forwarder connects a stream to the loopback address configured for the pod's port.
type forwarder struct{ dir string }

func (f forwarder) PortForward(ctx context.Context, pod string, _ string, port int32, stream io.ReadWriteCloser) error {
	raw, err := os.ReadFile(filepath.Join(f.dir, "forward", strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("pod %s has no container port %d", pod, port)
	}
	target := strings.TrimSpace(string(raw))
	host, _, err := net.SplitHostPort(target)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("forward target %q of pod %s is not a loopback address", target, pod)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		// The kubelet's wording, so the client shows what a real node says.
		return fmt.Errorf("failed to connect to localhost:%d inside namespace of pod %s: %v", port, pod, err)
	}
	defer conn.Close()
	fmt.Fprintf(os.Stderr, "kubelet-standin: forwarding %s:%d to %s\n", pod, port, target)
	errs := make(chan error, 2)
	go func() {
		_, err := io.Copy(conn, stream)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
		errs <- err
	}()
	go func() {
		_, err := io.Copy(stream, conn)
		errs <- err
	}()
	select {
	case err := <-errs:
		if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
			return err
		}
		// Let the other direction drain what it has.
		select {
		case <-errs:
		case <-time.After(time.Second):
		}
		return nil
	case <-ctx.Done():
		return nil
	}
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "kubelet-standin"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
