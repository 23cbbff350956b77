//go:build ignore

// The platform's side of an owner launch, without a JWT library: an HS256 JWT signed with PLATFORM_SECRET.
// Run: PLATFORM_SECRET=… SHOP_ID=1 go run docs/examples/launch-token.go
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// LaunchToken signs a launch token for one shop's page: 5 minutes, single use (jti); sub and name for the audit trail.
func LaunchToken(secret string, shopID int64, userID, userName string) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	now := time.Now().Unix()
	claims := map[string]any{"shop": strconv.FormatInt(shopID, 10), "iat": now, "exp": now + 300, "jti": hex.EncodeToString(jti)}
	if userID != "" {
		claims["sub"] = userID
	}
	if userName != "" {
		claims["name"] = userName
	}
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

func main() {
	base := os.Getenv("NOTIFY_URL")
	if base == "" {
		base = "http://127.0.0.1:3000"
	}
	shopID, err := strconv.ParseInt(os.Getenv("SHOP_ID"), 10, 64)
	if err != nil {
		shopID = 1
	}
	token, err := LaunchToken(os.Getenv("PLATFORM_SECRET"), shopID, "17", "Ольга")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// the token travels in the fragment: it never reaches a server log
	fmt.Printf("%s/shops/%d/growth/telegram#launch=%s\n", base, shopID, token)
}
