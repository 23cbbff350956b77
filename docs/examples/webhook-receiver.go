//go:build ignore

// A platform's webhook endpoint without a library: verify the Standard Webhooks signature, then handle the event.
// Run: WEBHOOK_SECRET=whsec_… LISTEN=127.0.0.1:8080 go run docs/examples/webhook-receiver.go
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// VerifyWebhook returns nil when one v1 signature matches and the timestamp is within 5 minutes.
func VerifyWebhook(secret, id, timestamp, signatures string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("malformed webhook-timestamp")
	}
	if d := now.Unix() - ts; d > 300 || d < -300 {
		return errors.New("webhook-timestamp outside 5 minutes")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("malformed secret")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// several signatures, space-separated, while a rotated secret overlaps the old one
	for _, versioned := range strings.Split(signatures, " ") {
		version, signature, _ := strings.Cut(versioned, ",")
		if version == "v1" && hmac.Equal([]byte(signature), []byte(expected)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

func main() {
	secret := os.Getenv("WEBHOOK_SECRET")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)) // the raw body, exactly as signed
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		h := r.Header
		if err := VerifyWebhook(secret, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var event struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "malformed event", http.StatusBadRequest)
			return
		}
		// Retries carry the same webhook-id: skip one already handled (keep it next to the change it made).
		log.Printf("%s %s", event.Type, event.Data)
		w.WriteHeader(http.StatusNoContent)
	})
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.Fatal(http.ListenAndServe(addr, nil))
}
