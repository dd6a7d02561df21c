package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Server serves a Handler over UDP and TCP on a set of addresses. UDP is read
// and written in batches (recvmmsg/sendmmsg), several readers per socket;
// answers that need the network run on their own goroutines so they never
// hold up the cluster's answers.
type Server struct {
	h     *Handler
	addrs []netip.AddrPort
	log   *slog.Logger

	udp []*net.UDPConn
	tcp []*net.TCPListener
}

const (
	batchSize      = 32
	readBufSize    = 4096
	maxAsync       = 512 // forwarded queries in flight
	maxTCPConns    = 1024
	tcpIdleTimeout = 10 * time.Second
	udpBufferBytes = 4 << 20
)

// NewServer returns a server for h on addrs. It binds nothing until Listen.
func NewServer(h *Handler, addrs []netip.AddrPort, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{h: h, addrs: addrs, log: log}
}

// Listen binds UDP and TCP on every address (port 0 picks one per address,
// the same for both protocols).
func (s *Server) Listen() error {
	for _, ap := range s.addrs {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			s.Close()
			return fmt.Errorf("listen for DNS on udp %s: %w", ap, err)
		}
		// A burst of queries should wait in the socket, not be dropped.
		_ = u.SetReadBuffer(udpBufferBytes)
		_ = u.SetWriteBuffer(udpBufferBytes)
		s.udp = append(s.udp, u)
		tcpAddr := net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), u.LocalAddr().(*net.UDPAddr).AddrPort().Port()))
		t, err := net.ListenTCP("tcp", tcpAddr)
		if err != nil {
			s.Close()
			return fmt.Errorf("listen for DNS on tcp %s: %w", tcpAddr, err)
		}
		s.tcp = append(s.tcp, t)
	}
	return nil
}

// Addrs returns the bound UDP addresses (the TCP ones have the same ports).
func (s *Server) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, u := range s.udp {
		out = append(out, u.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// Close releases the sockets.
func (s *Server) Close() {
	for _, u := range s.udp {
		u.Close()
	}
	for _, t := range s.tcp {
		t.Close()
	}
}

// Run serves until ctx ends. Listen must have succeeded.
func (s *Server) Run(ctx context.Context) error {
	if len(s.udp) == 0 {
		return errors.New("dns server: Listen first")
	}
	var wg sync.WaitGroup
	inflight := make(chan struct{}, maxAsync)
	conns := make(chan struct{}, maxTCPConns)
	readers := runtime.GOMAXPROCS(0)
	for _, u := range s.udp {
		for range readers {
			wg.Go(func() { s.serveUDP(u, inflight) })
		}
	}
	for _, t := range s.tcp {
		wg.Go(func() { s.serveTCP(ctx, t, conns) })
	}
	<-ctx.Done()
	s.Close()
	wg.Wait()
	return nil
}

// batchConn is the batch I/O of ipv4.PacketConn and ipv6.PacketConn.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func (s *Server) serveUDP(u *net.UDPConn, inflight chan struct{}) {
	var bc batchConn
	if u.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		bc = ipv4.NewPacketConn(u)
	} else {
		bc = ipv6.NewPacketConn(u)
	}
	in := make([]ipv4.Message, batchSize)
	out := make([]ipv4.Message, batchSize)
	inBufs := make([][]byte, batchSize)
	outBufs := make([][]byte, batchSize)
	for i := range in {
		inBufs[i] = make([]byte, readBufSize)
		outBufs[i] = make([]byte, 0, readBufSize)
		in[i].Buffers = [][]byte{inBufs[i]}
		out[i].Buffers = [][]byte{nil}
	}
	var q query
	var w writer
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("read DNS queries", "err", err)
			continue
		}
		k := 0
		for i := 0; i < n; i++ {
			ua, ok := in[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			src := ua.AddrPort()
			msg := inBufs[i][:in[i].N]
			resp, act := s.h.handle(msg, src.Addr().Unmap(), 0, &q, &w, outBufs[i][:0])
			switch act {
			case reply:
				out[k].Buffers[0] = resp
				out[k].Addr = ua
				k++
			case async:
				s.spawn(u, append([]byte(nil), msg...), src, inflight)
			}
		}
		for sent := 0; sent < k; {
			m, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				s.log.Debug("write DNS responses", "err", err)
				break
			}
			sent += m
		}
	}
}

// spawn answers a query that needs the network on its own goroutine, or
// drops it when too many are in flight.
func (s *Server) spawn(u *net.UDPConn, msg []byte, src netip.AddrPort, inflight chan struct{}) {
	select {
	case inflight <- struct{}{}:
	default:
		s.h.metrics.dropped(dropOverloaded)
		return
	}
	go func() {
		defer func() { <-inflight }()
		var q query
		var w writer
		resp, act := s.h.handle(msg, src.Addr().Unmap(), mayBlock|counted, &q, &w, make([]byte, 0, readBufSize))
		if act == reply {
			_, _ = u.WriteToUDPAddrPort(resp, src)
		}
	}()
}

func (s *Server) serveTCP(ctx context.Context, l *net.TCPListener, conns chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Debug("accept DNS connection", "err", err)
			continue
		}
		select {
		case conns <- struct{}{}:
		default:
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-conns }()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.serveConn(c)
		})
	}
}

// serveConn answers length-prefixed queries on one connection, in order,
// until the client closes it or stays idle.
func (s *Server) serveConn(c *net.TCPConn) {
	defer c.Close()
	src := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	var q query
	var w writer
	in := make([]byte, maxMsgSize)
	out := make([]byte, 2, maxMsgSize+2)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := io.ReadFull(c, in[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(in))
		if _, err := io.ReadFull(c, in[:n]); err != nil {
			return
		}
		resp, act := s.h.handle(in[:n], src, viaTCP|mayBlock, &q, &w, out[2:2])
		if act != reply {
			return
		}
		frame := out[:2+len(resp)]
		if &frame[2] != &resp[0] { // the forwarder may answer in a buffer of its own
			frame = append(out[:2], resp...)
		}
		binary.BigEndian.PutUint16(frame, uint16(len(resp)))
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}
