// etcd built from go.etcd.io/etcd/server/v3 for the tests' real Kubernetes
// API server: the same entry point as the etcd release binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
