package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/spf13/cobra"
)

// viaSidecar gives a call or emit command the flag --sidecar: with it, the command goes
// through a sidecar's API (as "micro --proxy_address" did) and needs no etcd, e.g. on a
// machine that cannot reach it.
func viaSidecar(g *globals, cmd *cobra.Command) *cobra.Command {
	var addr string
	cmd.Flags().StringVar(&addr, "sidecar", "", "go through the sidecar at ADDR (host:port, http://host:port, or unix:/path.sock) instead of reaching etcd")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if addr == "" {
			return run(c, args)
		}
		sc, err := newSidecarClient(addr)
		if err != nil {
			return err
		}
		defer sc.close()
		if strings.HasPrefix(cmd.Use, "emit") {
			return sc.emit(c, g, args)
		}
		return sc.call(c, g, args)
	}
	return cmd
}

type sidecarClient struct {
	base string
	tr   *http.Transport
	hc   *http.Client
}

func newSidecarClient(addr string) (*sidecarClient, error) {
	tr := &http.Transport{Proxy: nil, MaxResponseHeaderBytes: 64 << 10}
	sc := &sidecarClient{tr: tr, hc: &http.Client{Transport: tr}}
	switch {
	case strings.HasPrefix(addr, "unix:") || strings.HasPrefix(addr, "/"):
		path := strings.TrimPrefix(strings.TrimPrefix(addr, "unix:"), "//")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		sc.base = "http://sidecar"
	case strings.HasPrefix(addr, "http://"):
		sc.base = strings.TrimSuffix(addr, "/")
	case strings.Contains(addr, "://"):
		return nil, usagef("--sidecar %q: want host:port, http://host:port or unix:/path.sock", addr)
	default:
		sc.base = "http://" + addr
	}
	return sc, nil
}

func (sc *sidecarClient) close() { sc.tr.CloseIdleConnections() }

// post sends body to path with headers; an error reply becomes the *jesus.Error it names.
func (sc *sidecarClient) post(ctx context.Context, path string, body any, h map[string]string) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sc.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, usagef("--sidecar: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := sc.hc.Do(req)
	if err != nil {
		return nil, withCode(ExitUnavailable, fmt.Errorf("the sidecar at %s did not answer: %w", sc.base, err))
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		eb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Code    jesus.Code `json:"code"`
			Message string     `json:"message"`
		}
		if json.Unmarshal(eb, &e) != nil || !e.Code.Valid() {
			return nil, withCode(ExitFailure, fmt.Errorf("the sidecar at %s answered %d: %.200s", sc.base, resp.StatusCode, eb))
		}
		return nil, callErr(jesus.NewError(e.Code, e.Message))
	}
	return resp, nil
}

func timeoutHeader(c *cobra.Command, h map[string]string) {
	if d, err := c.Flags().GetDuration("timeout"); err == nil {
		ms := (d + time.Millisecond - 1) / time.Millisecond
		h["Jesus-Timeout"] = strconv.FormatInt(int64(ms), 10)
	}
}

func (sc *sidecarClient) call(c *cobra.Command, g *globals, args []string) error {
	target := args[0]
	if svc, m, ok := strings.Cut(target, "."); !ok || svc == "" || m == "" {
		return usagef("call: %q is not SERVICE.METHOD", target)
	}
	if ch, _ := c.Flags().GetString("channel"); ch != "" {
		return usagef("call: --channel does not go through a sidecar (it picks the method's channel)")
	}
	req, err := readJSON(args, 1, g.env.Stdin, "call "+target)
	if err != nil {
		return err
	}
	h := map[string]string{}
	if m, _ := c.Flags().GetString("mode"); m != "" {
		mode, err := parseMode(m)
		if err != nil {
			return usagef("call: --mode %q: want noResponse, ack, response or stream", m)
		}
		h["Jesus-Mode"] = mode.String()
	}
	timeoutHeader(c, h)
	start := time.Now()
	resp, err := sc.post(c.Context(), "/v1/call/"+target, req, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusAccepted:
		fmt.Fprintf(g.env.Stderr, "%s: acknowledged in %v\n", target, time.Since(start).Round(time.Microsecond))
		return nil
	case resp.StatusCode == http.StatusNoContent:
		fmt.Fprintf(g.env.Stderr, "%s: sent (noResponse: no answer expected) in %v\n", target, time.Since(start).Round(time.Microsecond))
		return nil
	case strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson"):
		return sc.readStream(g, target, resp.Body, start)
	}
	var out any
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxInput))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return withCode(ExitFailure, fmt.Errorf("call: the sidecar's reply is not JSON: %v", err))
	}
	return withCode(ExitFailure, writeJSONLine(g.env.Stdout, out))
}

// readStream prints each NDJSON item of a stream reply as it arrives.
func (sc *sidecarClient) readStream(g *globals, target string, body io.Reader, start time.Time) error {
	sr := bufio.NewScanner(body)
	sr.Buffer(make([]byte, 64<<10), maxInput)
	n := 0
	for sr.Scan() {
		var line struct {
			Item  json.RawMessage `json:"item"`
			End   json.RawMessage `json:"end"`
			Error *struct {
				Code    jesus.Code `json:"code"`
				Message string     `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(sr.Bytes(), &line); err != nil {
			return withCode(ExitFailure, fmt.Errorf("call: line %d of the stream is not JSON: %v", n+1, err))
		}
		switch {
		case line.Error != nil:
			return callErr(jesus.NewError(line.Error.Code, line.Error.Message))
		case line.End != nil:
			fmt.Fprintf(g.env.Stderr, "%s: stream ended after %d item(s) in %v\n", target, n, time.Since(start).Round(time.Microsecond))
			return nil
		}
		n++
		if _, err := fmt.Fprintf(g.env.Stdout, "%s\n", line.Item); err != nil {
			return withCode(ExitFailure, err)
		}
	}
	return withCode(ExitUnavailable, fmt.Errorf("call: the stream from the sidecar broke off after %d item(s): %v", n, sr.Err()))
}

func (sc *sidecarClient) emit(c *cobra.Command, g *globals, args []string) error {
	event := args[0]
	payload, err := readJSON(args, 1, g.env.Stdin, "emit "+event)
	if err != nil {
		return err
	}
	h := map[string]string{}
	if from, _ := c.Flags().GetString("from"); from != "" {
		h["Jesus-From"] = from
	}
	timeoutHeader(c, h)
	resp, err := sc.post(c.Context(), "/v1/emit/"+event, payload, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res struct {
		Event  string                     `json:"event"`
		ID     string                     `json:"id"`
		Acked  []string                   `json:"acked,omitempty"`
		Sent   []string                   `json:"sent,omitempty"`
		Failed map[string]json.RawMessage `json:"failed,omitempty"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInput)).Decode(&res); err != nil {
		return withCode(ExitFailure, fmt.Errorf("emit: the sidecar's reply is not JSON: %v", err))
	}
	if err := writeJSONLine(g.env.Stdout, res); err != nil {
		return withCode(ExitFailure, err)
	}
	if len(res.Failed) > 0 {
		return withCode(ExitFailure, fmt.Errorf("emit: %d listening service(s) did not get %s", len(res.Failed), event))
	}
	return nil
}
