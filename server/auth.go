package server

import (
	"bufio"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/internal/sqlstate"
)

// This file is password authentication: the auth file's users and their
// SCRAM-SHA-256 verifiers (PostgreSQL's stored form), and the server's
// side of the SCRAM-SHA-256 exchange (RFC 5802 with SHA-256, RFC 7677),
// which is what psql, libpq, pgx, lib/pq and JDBC speak to PostgreSQL
// 10 and later. Channel binding (SCRAM-SHA-256-PLUS) is not offered.

// Credentials are the users allowed to connect, each with the verifier
// of their password. The zero value allows nobody.
type Credentials struct {
	users map[string]ScramVerifier
	// mockKey derives the salt shown to a user that does not exist, the
	// same one each time, so that the exchange does not tell whether a
	// user exists (as PostgreSQL's mock authentication does).
	mockKey []byte
}

// ScramVerifier is what a server keeps of a password for SCRAM-SHA-256:
// the salt and iteration count of PBKDF2, and the StoredKey and
// ServerKey derived from the salted password. It does not reveal the
// password and cannot be used to log in.
type ScramVerifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// DefaultScramIterations is the PBKDF2 iteration count of verifiers made
// from a plain password, PostgreSQL's default (scram_iterations).
const DefaultScramIterations = 4096

// NewScramVerifier derives the verifier of password with a fresh random
// salt. The password is used as its bytes (PostgreSQL applies SASLprep
// first, which changes only passwords with unusual Unicode characters).
func NewScramVerifier(password string, iterations int) (ScramVerifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return ScramVerifier{}, err
	}
	return scramVerifier(password, salt, iterations)
}

func scramVerifier(password string, salt []byte, iterations int) (ScramVerifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return ScramVerifier{}, err
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	return ScramVerifier{Iterations: iterations, Salt: salt, StoredKey: stored[:], ServerKey: hmacSHA256(salted, []byte("Server Key"))}, nil
}

// String is the verifier in PostgreSQL's form,
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64.
func (v ScramVerifier) String() string {
	b := base64.StdEncoding
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.Iterations, b.EncodeToString(v.Salt), b.EncodeToString(v.StoredKey), b.EncodeToString(v.ServerKey))
}

// ParseScramVerifier reads a verifier in PostgreSQL's form (String's).
func ParseScramVerifier(s string) (ScramVerifier, error) {
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	bad := fmt.Errorf("not a SCRAM-SHA-256 verifier (want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)")
	if !ok {
		return ScramVerifier{}, bad
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return ScramVerifier{}, bad
	}
	iter, salt, ok1 := strings.Cut(params, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return ScramVerifier{}, bad
	}
	var v ScramVerifier
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations < 1 {
		return ScramVerifier{}, fmt.Errorf("bad iteration count %q", iter)
	}
	b := base64.StdEncoding
	if v.Salt, err = b.DecodeString(salt); err != nil || len(v.Salt) == 0 {
		return ScramVerifier{}, fmt.Errorf("bad salt: %v", err)
	}
	if v.StoredKey, err = b.DecodeString(stored); err != nil || len(v.StoredKey) != sha256.Size {
		return ScramVerifier{}, fmt.Errorf("bad StoredKey")
	}
	if v.ServerKey, err = b.DecodeString(server); err != nil || len(v.ServerKey) != sha256.Size {
		return ScramVerifier{}, fmt.Errorf("bad ServerKey")
	}
	return v, nil
}

// ParseCredentials reads an auth file: one user per line, either
// user:password (a verifier is derived at once, with a random salt) or
// user:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
// Blank lines and lines starting with '#' are skipped. A user name ends
// at the first ':'; the password is the rest of the line.
func ParseCredentials(r io.Reader) (*Credentials, error) {
	c := &Credentials{users: map[string]ScramVerifier{}, mockKey: make([]byte, 32)}
	if _, err := rand.Read(c.mockKey); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, secret, ok := strings.Cut(line, ":")
		if !ok || user == "" || secret == "" {
			return nil, fmt.Errorf("line %d: want user:password or user:<SCRAM-SHA-256 verifier>", n)
		}
		if _, dup := c.users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q is listed twice", n, user)
		}
		var v ScramVerifier
		var err error
		if strings.HasPrefix(secret, "SCRAM-SHA-256$") {
			v, err = ParseScramVerifier(secret)
		} else {
			v, err = NewScramVerifier(secret, DefaultScramIterations)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d (user %q): %w", n, user, err)
		}
		c.users[user] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(c.users) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return c, nil
}

// LoadCredentials reads the auth file at path (see ParseCredentials).
func LoadCredentials(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	defer f.Close()
	c, err := ParseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return c, nil
}

// lookup returns user's verifier, or, for an unknown user, a mock one
// with a stable salt that no proof matches (ok false).
func (c *Credentials) lookup(user string) (v ScramVerifier, ok bool) {
	if v, ok := c.users[user]; ok {
		return v, true
	}
	salt := hmacSHA256(c.mockKey, []byte(user))[:16]
	junk := make([]byte, sha256.Size)
	_, _ = rand.Read(junk)
	return ScramVerifier{Iterations: DefaultScramIterations, Salt: salt, StoredKey: junk, ServerKey: junk}, false
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// Authentication failures. A wrong password and an unknown user get the
// same error, as in PostgreSQL.
var (
	errAuthFailed   = sqlstate.New(sqlstate.InvalidPassword, "server: password authentication failed")
	errAuthProtocol = sqlstate.New(sqlstate.InvalidAuthorization, "server: malformed SCRAM message")
)

// authenticate runs the SCRAM-SHA-256 exchange with the client after its
// StartupMessage, up to AuthenticationOk, or sends AuthenticationOk at
// once when the server has no credentials. An error is the client's
// FATAL one.
func (c *conn) authenticate(user string) error {
	creds := c.srv.opts.Credentials
	if creds == nil {
		c.be.Send(&pgproto3.AuthenticationOk{})
		return nil
	}
	failed := errAuthFailed.Errorf("password authentication failed for user %q", user)
	c.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if err := c.flush(); err != nil {
		return err
	}
	_ = c.be.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err := c.be.Receive()
	if err != nil {
		return fmt.Errorf("receive SASL response: %w", err)
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return errAuthProtocol.Errorf("expected a SASL initial response, got %T", msg)
	}
	if first.AuthMechanism != "SCRAM-SHA-256" {
		return errAuthProtocol.Errorf("client selected an invalid SASL authentication mechanism %q", first.AuthMechanism)
	}
	// client-first-message: gs2-header client-first-message-bare, where
	// gs2-header is "n,," or "y,," (no channel binding) and the bare part
	// is "n=<user>,r=<nonce>[,extensions]". PostgreSQL clients leave the
	// user empty: the StartupMessage named it.
	data := string(first.Data)
	var gs2 string
	switch {
	case strings.HasPrefix(data, "n,"), strings.HasPrefix(data, "y,"):
		i := strings.IndexByte(data[2:], ',')
		if i < 0 {
			return errAuthProtocol.Errorf("malformed SCRAM message (no GS2 header)")
		}
		gs2 = data[:2+i+1]
	case strings.HasPrefix(data, "p="):
		return errAuthProtocol.Errorf("channel binding is not supported by this server")
	default:
		return errAuthProtocol.Errorf("malformed SCRAM message (unexpected GS2 header)")
	}
	bare := data[len(gs2):]
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") || len(attrs[1]) < 3 {
		return errAuthProtocol.Errorf("malformed SCRAM message (client-first-message)")
	}
	clientNonce := attrs[1][2:]
	v, known := creds.lookup(user)
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	nonce := clientNonce + base64.StdEncoding.EncodeToString(raw)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(v.Salt), v.Iterations)
	c.be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := c.flush(); err != nil {
		return err
	}
	_ = c.be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = c.be.Receive()
	if err != nil {
		return fmt.Errorf("receive SASL response: %w", err)
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return errAuthProtocol.Errorf("expected a SASL response, got %T", msg)
	}
	// client-final-message: "c=<base64(gs2-header)>,r=<nonce>[,...],p=<proof>".
	fin := string(final.Data)
	cut := strings.LastIndex(fin, ",p=")
	if cut < 0 {
		return errAuthProtocol.Errorf("malformed SCRAM message (no proof)")
	}
	withoutProof := fin[:cut]
	proof, err := base64.StdEncoding.DecodeString(fin[cut+3:])
	if err != nil || len(proof) != sha256.Size {
		return errAuthProtocol.Errorf("malformed SCRAM message (bad proof)")
	}
	fattrs := strings.Split(withoutProof, ",")
	if len(fattrs) < 2 || fattrs[0] != "c="+base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return errAuthProtocol.Errorf("unexpected SCRAM channel-binding data")
	}
	if fattrs[1] != "r="+nonce {
		return errAuthProtocol.Errorf("SCRAM nonce does not match")
	}
	authMessage := []byte(bare + "," + serverFirst + "," + withoutProof)
	sig := hmacSHA256(v.StoredKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ sig[i]
	}
	sum := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(sum[:], v.StoredKey) != 1 || !known {
		return failed
	}
	serverSig := hmacSHA256(v.ServerKey, authMessage)
	c.be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	c.be.Send(&pgproto3.AuthenticationOk{})
	_ = c.be.SetAuthType(pgproto3.AuthTypeOk)
	return nil
}
