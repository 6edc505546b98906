package httpchan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// wireReply is the head of a reply read off a wireConn.
type wireReply struct {
	status int
	header http.Header
	clen   int64 // -1: until the connection closes, or chunked
	body   io.Reader
	keep   bool // the connection can carry another request once body is read
	http11 bool // the reply is HTTP/1.1 (or a later 1.x)
}

var errReplyHead = errors.New("httpchan: malformed reply head")

// maxInformational is how many 1xx replies may come before the final one (as net/http).
const maxInformational = 5

// readReply reads a reply head (skipping 1xx replies) of at most maxHead bytes.
func (w *wireConn) readReply(r *wireReply, lr *io.LimitedReader, maxHead int) error {
	for n := 0; ; n++ {
		if err := w.readHead(r, maxHead); err != nil {
			return err
		}
		if r.status >= 200 || r.status == http.StatusSwitchingProtocols {
			break
		}
		if n == maxInformational {
			return fmt.Errorf("%w: more than %d 1xx replies", errReplyHead, maxInformational)
		}
	}
	if r.status == http.StatusSwitchingProtocols {
		return fmt.Errorf("%w: 101 Switching Protocols", errReplyHead)
	}
	te := r.header["Transfer-Encoding"]
	cl := r.header["Content-Length"]
	// A Content-Length is checked wherever it stands, as net/http does: a reply that one
	// reader takes and another refuses is how two readers are made to disagree.
	var clen int64
	if len(cl) > 0 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return fmt.Errorf("%w: conflicting Content-Length values", errReplyHead)
			}
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil {
			return fmt.Errorf("%w: Content-Length %q", errReplyHead, truncate(cl[0]))
		}
		clen = int64(n)
	}
	switch {
	case r.status == http.StatusNoContent || r.status == http.StatusNotModified:
		r.clen = 0
	case len(te) > 0:
		if !r.http11 {
			// Chunked framing is HTTP/1.1's; an HTTP/1.0 reply with it was likely
			// forwarded by something that did not decode it (RFC 9112 section 6.1).
			return fmt.Errorf("%w: Transfer-Encoding in an HTTP/1.0 reply", errReplyHead)
		}
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return fmt.Errorf("%w: Transfer-Encoding %q", errReplyHead, truncate(te[0]))
		}
		r.clen = -1
		r.body = httputil.NewChunkedReader(w.br)
		r.keep = false // trailers are not read: the connection is not reused
		return nil
	case len(cl) > 0:
		r.clen = clen
	default:
		r.clen = -1
		r.keep = false
		r.body = w.br
		return nil
	}
	lr.R, lr.N = w.br, r.clen
	r.body = lr
	return nil
}

// readHead reads a status line and header fields. Every key and value is a substring of
// one string holding the whole head.
func (w *wireConn) readHead(r *wireReply, maxHead int) error {
	lines, err := w.readHeadBytes(maxHead)
	if err != nil {
		return err
	}
	s := string(w.buf) // one allocation holds every key and value
	// status line: HTTP/1.x NNN reason
	line, s := cutLine(s)
	code, ok := parseStatusLine(line)
	if !ok {
		return fmt.Errorf("%w: status line %q", errReplyHead, truncate(line))
	}
	r.status = code
	r.http11 = line[7] >= '1'
	r.keep = line[7] == '1'
	if err := r.parseFields(s, lines); err != nil {
		return err
	}
	for _, v := range r.header["Connection"] {
		if hasToken(v, "close") {
			r.keep = false
		}
	}
	return nil
}

// readHeadBytes reads a reply head of at most maxHead bytes, up to and with the blank line
// that ends it, into w.buf, and returns how many lines it has.
func (w *wireConn) readHeadBytes(maxHead int) (int, error) {
	head := w.buf[:0]
	lines := 0
	for {
		start := len(head)
		line, err := w.br.ReadSlice('\n')
		for err == bufio.ErrBufferFull && len(head)+len(line) <= maxHead {
			head = append(head, line...)
			line, err = w.br.ReadSlice('\n')
		}
		if len(head)+len(line) > maxHead {
			return 0, fmt.Errorf("httpchan: reply head exceeds %d bytes", maxHead)
		}
		if err != nil {
			if err == io.EOF && len(head) == 0 && len(line) == 0 {
				return 0, io.ErrUnexpectedEOF
			}
			if err == io.EOF {
				return 0, fmt.Errorf("%w: cut short after %d bytes", errReplyHead, len(head)+len(line))
			}
			return 0, err
		}
		head = append(head, line...)
		lines++
		if l := head[start:]; len(l) == 1 || len(l) == 2 && l[0] == '\r' {
			break // the blank line that ends the head
		}
	}
	w.buf = head
	return lines, nil
}

// parseFields fills r.header from the header lines of s (at most lines of them), which end
// with a blank line.
func (r *wireReply) parseFields(s string, lines int) error {
	if r.header == nil {
		r.header = make(http.Header, lines)
	} else {
		clear(r.header)
	}
	values := make([]string, 0, lines)
	for {
		var line string
		line, s = cutLine(s)
		if line == "" {
			return nil
		}
		key, value, err := parseField(line)
		if err != nil {
			return err
		}
		if vs, ok := r.header[key]; ok {
			r.header[key] = append(vs, value)
		} else {
			values = append(values, value)
			r.header[key] = values[len(values)-1 : len(values) : len(values)]
		}
	}
}

// parseField splits a header line into its canonical key and its value.
func parseField(line string) (key, value string, err error) {
	colon := -1
	for j := 0; j < len(line); j++ {
		if line[j] == ':' {
			colon = j
			break
		}
		if !isTokenChar(line[j]) {
			return "", "", fmt.Errorf("%w: header line %q", errReplyHead, truncate(line))
		}
	}
	if colon <= 0 {
		return "", "", fmt.Errorf("%w: header line %q", errReplyHead, truncate(line))
	}
	key, value = line[:colon], trimOWS(line[colon+1:])
	for j := 0; j < len(value); j++ {
		if c := value[j]; c < 0x20 && c != '\t' || c == 0x7f {
			return "", "", fmt.Errorf("%w: control byte in header %q", errReplyHead, truncate(key))
		}
	}
	if !isCanonical(key) {
		key = http.CanonicalHeaderKey(key)
	}
	return key, value, nil
}

// cutLine cuts s after its first line end (LF or CRLF). A head read by readHeadBytes ends
// with one.
func cutLine(s string) (line, rest string) {
	i := indexCRLF(s)
	line, rest = s[:i], s[i:]
	if len(rest) > 0 && rest[0] == '\r' {
		rest = rest[1:]
	}
	if len(rest) > 0 {
		rest = rest[1:] // '\n'
	}
	return line, rest
}

// hasToken reports whether the comma-separated list v holds token (ASCII case-insensitive).
func hasToken(v, token string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if asciiEqualFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}

// parseStatusLine reads "HTTP/1.<digit> <3 digits>[ <reason>]" and returns the status, at
// least 100. It is stricter than net/http, which also takes other versions, several spaces
// and codes below 100: none of those is HTTP/1.1 (RFC 9112 section 4).
func parseStatusLine(line string) (int, bool) {
	if len(line) < 12 || line[:7] != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
		return 0, false
	}
	if !isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || line[9] == '0' {
		return 0, false
	}
	return int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// indexCRLF returns the index of the line end ('\r\n' or '\n') in s; s always has one.
func indexCRLF(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return i
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return i
			}
		}
	}
	return len(s)
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isCanonical reports whether k is already in net/http's canonical form.
func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
