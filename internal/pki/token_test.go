package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	create := func(name string) string {
		t.Helper()
		token, err := CreateToken(dir, name)
		if err != nil {
			t.Fatalf("CreateToken(%q): %v", name, err)
		}
		return token
	}
	node1 := create("node-1")
	node2 := create("node2.example.com")
	revoked := create("node-3")
	node3 := create("node-3")

	format := regexp.MustCompile(`^svcnet_node-1_[a-z2-7]{52}$`)
	if !format.MatchString(node1) {
		t.Errorf("token %q does not match %s", node1, format)
	}

	set, err := LoadTokens(dir)
	if err != nil {
		t.Fatalf("LoadTokens: %v", err)
	}
	tests := []struct {
		name     string
		token    string
		wantName string
		wantOK   bool
	}{
		{name: "first", token: node1, wantName: "node-1", wantOK: true},
		{name: "second", token: node2, wantName: "node2.example.com", wantOK: true},
		{name: "reissued", token: node3, wantName: "node-3", wantOK: true},
		{name: "replaced by reissue", token: revoked},
		{name: "empty", token: ""},
		{name: "wrong secret", token: node1[:len(node1)-1] + flip(node1[len(node1)-1])},
		{name: "other name same secret", token: strings.Replace(node1, "node-1", "node-9", 1)},
		{name: "truncated", token: node1[:len(node1)-1]},
		{name: "hash instead of token", token: hashHex(node1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := set.Lookup(tt.token)
			if name != tt.wantName || ok != tt.wantOK {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.token, name, ok, tt.wantName, tt.wantOK)
			}
		})
	}

	data, err := os.ReadFile(pkiPath(dir, tokensFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{node1, node2, node3} {
		if strings.Contains(string(data), tok) {
			t.Errorf("tokens file holds a plain token")
		}
	}
	if lines := strings.Count(string(data), "\n"); lines != 3 {
		t.Errorf("tokens file has %d lines; want 3 (one per name):\n%s", lines, data)
	}
	if want := fmt.Sprintf("node-1 %s\n", hashHex(node1)); !strings.HasPrefix(string(data), want) {
		t.Errorf("tokens file starts %q; want %q", data, want)
	}
}

func TestCreateTokenInvalidName(t *testing.T) {
	for _, name := range []string{"", "Node1", "node_1", "a b", "-node", strings.Repeat("a", 254)} {
		t.Run(fmt.Sprintf("%.20q", name), func(t *testing.T) {
			dir := t.TempDir()
			if tok, err := CreateToken(dir, name); err == nil {
				t.Errorf("CreateToken(%q) = %q, nil; want an error", name, tok)
			}
			if _, err := os.Stat(pkiPath(dir, tokensFile)); !os.IsNotExist(err) {
				t.Errorf("tokens file exists after a rejected name (stat error %v)", err)
			}
		})
	}
}

func TestLoadTokens(t *testing.T) {
	valid := hashHex("x")
	tests := []struct {
		name    string
		content *string // nil: no file
		want    int
		wantErr bool
	}{
		{name: "missing file", content: nil, want: 0},
		{name: "empty file", content: ptr(""), want: 0},
		{name: "comments and blank lines", content: ptr("# issued by hand\n\nnode-1 " + valid + "\n"), want: 1},
		{name: "one field", content: ptr("node-1\n"), wantErr: true},
		{name: "three fields", content: ptr("node-1 " + valid + " extra\n"), wantErr: true},
		{name: "short hash", content: ptr("node-1 abcd\n"), wantErr: true},
		{name: "not hex", content: ptr("node-1 " + strings.Repeat("z", 64) + "\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != nil {
				if err := os.MkdirAll(pkiDir(dir), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(pkiPath(dir, tokensFile), []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			set, err := LoadTokens(dir)
			if tt.wantErr {
				if err == nil {
					t.Errorf("LoadTokens = %v, nil; want an error", set)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadTokens: %v", err)
			}
			if got := len(set.entries); got != tt.want {
				t.Errorf("LoadTokens has %d entries; want %d", got, tt.want)
			}
		})
	}
}

func TestNilTokenSet(t *testing.T) {
	var set *TokenSet
	if name, ok := set.Lookup("svcnet_x_y"); ok {
		t.Errorf("nil TokenSet Lookup = %q, true; want false", name)
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func hashHex(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func ptr(s string) *string { return &s }
