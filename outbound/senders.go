package outbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// LogSender writes each message to the log: the development default.
type LogSender struct {
	log *slog.Logger
}

// NewLogSender returns a sender that logs messages to log.
func NewLogSender(log *slog.Logger) *LogSender { return &LogSender{log: log} }

// Name implements Sender.
func (*LogSender) Name() string { return "log" }

// Send implements Sender: it logs m and never fails.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	s.log.InfoContext(ctx, "notification", "message", m.ID, "recipient", m.Recipient, "kind", m.Kind, "title", m.Title)
	return nil
}

// WebhookKey is one signing secret, named by its id. A receiver accepts
// the current and the previous keys while secrets rotate.
type WebhookKey struct {
	ID     string
	Secret []byte
}

// Headers of a webhook request.
const (
	HeaderMessageID = "X-Linli-Message-Id"
	HeaderTimestamp = "X-Linli-Timestamp"
	HeaderKeyID     = "X-Linli-Key-Id"
	HeaderSignature = "X-Linli-Signature"
)

// maxAnswer is how much of a receiver's answer is read: enough for an
// error message, and a receiver that answers 10 MB costs no more.
const maxAnswer = 64 << 10

// Webhook posts each message as JSON to a URL, signed with HMAC-SHA256.
type Webhook struct {
	name   string
	url    string
	key    WebhookKey // the current key signs
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a webhook sender named name posting to url, signing
// with key; each request is given up after timeout.
func NewWebhook(name, url string, key WebhookKey, timeout time.Duration, now func() time.Time) *Webhook {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // receivers are reached directly
	tr.ResponseHeaderTimeout = timeout
	return &Webhook{
		name:   name,
		url:    url,
		key:    key,
		now:    now,
		client: &http.Client{Timeout: timeout, Transport: tr},
	}
}

// Name implements Sender.
func (w *Webhook) Name() string { return w.name }

// Sign returns the signature of body sent at timestamp ts with secret:
// hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify is the receiver's check: it returns the key id that signed the
// request (h its headers, body its body) if that key is one of keys (the
// current and the previous while secrets rotate) and the signature is
// right; ok is false otherwise.
func Verify(keys []WebhookKey, h http.Header, body []byte) (kid string, ok bool) {
	kid, ts, sig := h.Get(HeaderKeyID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	for _, k := range keys {
		if k.ID == kid && hmac.Equal([]byte(Sign(k.Secret, ts, body)), []byte(sig)) {
			return kid, true
		}
	}
	return "", false
}

// Send implements Sender: a POST of m as JSON; a 2xx answer is delivery,
// anything else (another status, a closed connection, the timeout) an
// error. At most 64 KiB of the answer is read.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(HeaderMessageID, m.ID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderKeyID, w.key.ID)
	req.Header.Set(HeaderSignature, Sign(w.key.Secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close() // the rest, however long, is not read
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: status %d: %.200s", resp.StatusCode, answer)
	}
	return nil
}
