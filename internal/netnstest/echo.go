package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// ServeEcho answers each TCP connection on l with a greeting line
// "name client-address", then answers every line it receives the same way,
// until the client closes. It returns when l is closed.
func ServeEcho(l net.Listener, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			line := fmt.Sprintf("%s %s\n", name, c.RemoteAddr())
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
			r := bufio.NewReader(c)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				if _, err := c.Write([]byte(line)); err != nil {
					return
				}
			}
		}()
	}
}

// ServeEchoUDP answers every datagram on c with "name client-address".
func ServeEchoUDP(c net.PacketConn, name string) {
	buf := make([]byte, 512)
	for {
		_, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = c.WriteTo([]byte(name+" "+from.String()+"\n"), from)
	}
}

// Answer is what an echo server said: its name and the client address it saw.
type Answer struct{ Name, Client string }

// ParseAnswer reads an echo server's line.
func ParseAnswer(line string) (Answer, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return Answer{}, fmt.Errorf("echo answer %q", line)
	}
	host, _, err := net.SplitHostPort(f[1])
	if err != nil {
		return Answer{}, fmt.Errorf("echo answer %q: %w", line, err)
	}
	return Answer{Name: f[0], Client: host}, nil
}

// Ask connects from n to addr ("tcp" or "udp") and returns the echo server's
// answer. Each call is a new connection (a new source port).
func (n *NS) Ask(ctx context.Context, network, addr string, timeout time.Duration) (Answer, error) {
	c, err := n.Dial(ctx, &net.Dialer{Timeout: timeout}, network, addr)
	if err != nil {
		return Answer{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := c.Write([]byte("hi\n")); err != nil {
			return Answer{}, err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return Answer{}, err
	}
	return ParseAnswer(line)
}
