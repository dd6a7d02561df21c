package pki

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// tokenPrefix starts every token, so a leaked one is easy to recognise and
// scan for.
const tokenPrefix = "svcnet"

// tokenSecretBytes is the entropy of a token: 256 bits.
const tokenSecretBytes = 32

// tokenEncoding spells the secret in lower-case base32 without padding, which
// survives shells, URLs and YAML unquoted.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// CreateToken issues a bearer token for name, records its SHA-256 in
// <dataDir>/pki/tokens, and returns it; the token itself is stored nowhere.
// Tokens look like "svcnet_<name>_<52 base32 characters>". name must be a DNS
// subdomain (lower-case letters, digits, '-' and '.'), such as a node name.
// Creating a token for a name that has one replaces, and so revokes, the old
// token. A running server sees the new token only after it loads the file
// again. CreateToken must not run concurrently with itself on the same
// dataDir: the file is rewritten whole.
func CreateToken(dataDir, name string) (token string, err error) {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("token name %q: %s", name, strings.Join(errs, "; "))
	}
	set, err := LoadTokens(dataDir)
	if err != nil {
		return "", err
	}
	secret := make([]byte, tokenSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token = tokenPrefix + "_" + name + "_" + tokenEncoding.EncodeToString(secret)

	entries := set.entries[:0:0]
	for _, e := range set.entries {
		if e.name != name {
			entries = append(entries, e)
		}
	}
	entries = append(entries, tokenEntry{name: name, hash: sha256.Sum256([]byte(token))})

	var buf bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&buf, "%s %s\n", e.name, hex.EncodeToString(e.hash[:]))
	}
	if err := os.MkdirAll(pkiDir(dataDir), dirMode); err != nil {
		return "", fmt.Errorf("create pki dir: %w", err)
	}
	if err := writeFileAtomic(pkiPath(dataDir, tokensFile), buf.Bytes(), secretMode); err != nil {
		return "", fmt.Errorf("save token: %w", err)
	}
	return token, nil
}

// TokenSet is the set of valid bearer tokens, as hashes. It is read-only and
// safe for concurrent use; a nil *TokenSet accepts nothing.
type TokenSet struct {
	entries []tokenEntry
}

type tokenEntry struct {
	name string
	hash [sha256.Size]byte
}

// LoadTokens reads <dataDir>/pki/tokens. A missing file is an empty set; a
// malformed line is an error naming the line.
func LoadTokens(dataDir string) (*TokenSet, error) {
	path := pkiPath(dataDir, tokensFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &TokenSet{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	set := &TokenSet{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseTokenLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		set.entries = append(set.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return set, nil
}

func parseTokenLine(line string) (tokenEntry, error) {
	fields := strings.Fields(line)
	if len(fields) != 2 {
		return tokenEntry{}, fmt.Errorf("want \"<name> <sha256 hex>\", got %d fields", len(fields))
	}
	sum, err := hex.DecodeString(fields[1])
	if err != nil || len(sum) != sha256.Size {
		return tokenEntry{}, fmt.Errorf("token hash for %q is not 64 hex digits", fields[0])
	}
	e := tokenEntry{name: fields[0]}
	copy(e.hash[:], sum)
	return e, nil
}

// Lookup returns the name token was issued to, or ok false if it is not a
// valid token. It compares the token's hash with every entry in constant
// time, so timing tells nothing about how close a guess was.
func (t *TokenSet) Lookup(token string) (name string, ok bool) {
	if t == nil || token == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			name, ok = e.name, true
		}
	}
	return name, ok
}
