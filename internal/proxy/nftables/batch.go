package nftables

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	nft "github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// batchWriter sends a sync's netlink batch the way nft does. google/nftables
// encodes the messages, but it asks the kernel to acknowledge every message and
// to echo every rule back, then reads those replies one by one: most of a large
// sync went into that. Here the library writes into a capturing connection, and
// the captured batch is sent without acknowledgement or echo flags. The kernel
// processes a batch synchronously inside sendmsg and queues an error message for
// any part that failed (the transaction then applies nothing), so reading what
// is queued right after the send tells success from failure.
type batchWriter struct {
	conn     *nft.Conn // encodes into captured
	captured []netlink.Message
	nl       *netlink.Conn // the real socket
	// sent says whether the last commit sent a transaction (one that changes
	// something) and the kernel took it.
	sent bool
}

func newBatchWriter(netnsFD int) (*batchWriter, error) {
	w := &batchWriter{}
	enc, err := nft.New(nft.WithTestDial(w.capture))
	if err != nil {
		return nil, fmt.Errorf("open nftables encoder: %w", err)
	}
	w.conn = enc
	cfg := &netlink.Config{}
	if netnsFD >= 0 {
		cfg.NetNS = netnsFD
	}
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("open netfilter netlink socket: %w", err)
	}
	if err := largeBuffers(nl); err != nil {
		nl.Close()
		return nil, err
	}
	w.nl = nl
	return w, nil
}

// capture stands in for the kernel under the encoding connection: it keeps a
// sent batch and acknowledges each message as it is asked for a reply.
func (w *batchWriter) capture(req []netlink.Message) ([]netlink.Message, error) {
	if req != nil {
		w.captured = append(w.captured, req...)
		return nil, nil
	}
	return []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 20)}}, nil
}

// commit sends everything queued on conn as one transaction.
func (w *batchWriter) commit() error {
	// A full sync's batch is large; let it go once sent.
	defer func() { w.captured = nil }()
	w.captured, w.sent = nil, false
	if err := w.conn.Flush(); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	msgs := w.captured
	if len(msgs) <= 2 { // only the batch begin and end markers
		return nil
	}
	// Only the last message before the end marker asks for an acknowledgement:
	// the kernel delivers every error of the batch, then that acknowledgement.
	last := len(msgs) - 2
	for i := range msgs {
		msgs[i].Header.Flags &^= netlink.Acknowledge | netlink.Echo
		msgs[i].Header.Sequence = uint32(i + 1)
	}
	msgs[last].Header.Flags |= netlink.Acknowledge
	if _, err := w.nl.SendMessages(msgs); err != nil {
		return fmt.Errorf("send batch of %d messages: %w", len(msgs), err)
	}
	if err := w.readReplies(msgs[last].Header.Sequence); err != nil {
		return err
	}
	w.sent = true
	return nil
}

// readReplies reads the batch's replies up to the acknowledgement of message
// lastSeq and returns the errors they carry.
func (w *batchWriter) readReplies(lastSeq uint32) error {
	raw, err := w.nl.SyscallConn()
	if err != nil {
		return fmt.Errorf("read batch replies: %w", err)
	}
	if err := w.nl.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
		return fmt.Errorf("read batch replies: %w", err)
	}
	defer w.nl.SetReadDeadline(time.Time{})
	buf := make([]byte, 1<<16)
	var errs []error
	for {
		var n int
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return rerr != unix.EAGAIN
		}); err != nil {
			return fmt.Errorf("read batch replies: %w", err)
		}
		if rerr != nil {
			return fmt.Errorf("read batch replies: %w", rerr)
		}
		replies, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("parse batch replies: %w", err)
		}
		done := false
		for _, r := range replies {
			if r.Header.Type != unix.NLMSG_ERROR || len(r.Data) < 4 {
				continue
			}
			code := int32(binaryutil.NativeEndian.Uint32(r.Data[:4]))
			if code != 0 {
				errs = append(errs, fmt.Errorf("batch message %d: %w", r.Header.Seq, syscall.Errno(-code)))
			}
			// An error on the batch-begin marker (message 1) means the kernel
			// refused the whole batch and will send nothing else.
			if r.Header.Seq == lastSeq || (r.Header.Seq == 1 && code != 0) {
				done = true
			}
		}
		if done {
			return errors.Join(errs...)
		}
	}
}

// replyTimeout bounds the wait for a batch's acknowledgement; the kernel has
// processed the batch by the time the send returns, so this is only a guard.
const replyTimeout = 30 * time.Second

func (w *batchWriter) close() error { return w.nl.Close() }
