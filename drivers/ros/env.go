package rosarm

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// DefaultMaster is the ROS master used when neither the config nor $ROS_MASTER_URI name one.
const DefaultMaster = "http://127.0.0.1:11311"

// ResolveMaster returns the master's "host:port", as goroslib's NodeConf.MasterAddress
// wants it, from uri ("http://host:port/" as in ROS_MASTER_URI, or "host:port"); an empty
// uri means $ROS_MASTER_URI, then DefaultMaster. goroslib itself ignores the environment,
// so every Praxis node resolves its master here. The error names the bad URI.
func ResolveMaster(uri string) (string, error) {
	src := "master"
	if uri == "" {
		uri, src = os.Getenv("ROS_MASTER_URI"), "ROS_MASTER_URI"
	}
	if uri == "" {
		uri = DefaultMaster
	}
	hostport := uri
	if strings.Contains(uri, "://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("rosarm: %s %q: %v", src, uri, err)
		}
		if u.Scheme != "http" {
			return "", fmt.Errorf("rosarm: %s %q: scheme %q, want http", src, uri, u.Scheme)
		}
		hostport = u.Host
	}
	hostport = strings.TrimSuffix(hostport, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("rosarm: %s %q: want http://HOST:PORT", src, uri)
	}
	return net.JoinHostPort(host, port), nil
}

// ResolveHost returns the address this node advertises to other nodes: host when set,
// else $ROS_IP, else $ROS_HOSTNAME, else "" (goroslib picks an address on the master's
// subnet).
func ResolveHost(host string) string {
	for _, h := range []string{host, os.Getenv("ROS_IP"), os.Getenv("ROS_HOSTNAME")} {
		if h != "" {
			return h
		}
	}
	return ""
}
