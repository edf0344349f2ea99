package server

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestScramRFC7677: the verifier and both signatures of RFC 7677's
// example exchange (user "user", password "pencil").
func TestScramRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scramVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	clientFirstBare := "n=user,r=rOprNGfwEbeRWgbNEkqO"
	serverFirst := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	clientFinalNoProof := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := []byte(clientFirstBare + "," + serverFirst + "," + clientFinalNoProof)
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := hmacSHA256(v.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if sum := sha256.Sum256(clientKey); string(sum[:]) != string(v.StoredKey) {
		t.Error("the RFC's proof does not match the verifier")
	}
	if got := base64.StdEncoding.EncodeToString(hmacSHA256(v.ServerKey, authMessage)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s", got)
	}
	back, err := ParseScramVerifier(v.String())
	if err != nil || back.String() != v.String() {
		t.Errorf("round trip: %v %v", back, err)
	}
}

func TestParseCredentials(t *testing.T) {
	v, _ := NewScramVerifier("secret", 4096)
	good := "# users\n\nalice:wonderland\nbob:" + v.String() + "\r\ncarol:pass:with:colons\n"
	c, err := ParseCredentials(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.users) != 3 || c.users["bob"].String() != v.String() || c.users["alice"].Iterations != DefaultScramIterations {
		t.Errorf("users: %v", c.users)
	}
	// An unknown user's salt is stable and its own.
	m1, ok1 := c.lookup("mallory")
	m2, _ := c.lookup("mallory")
	o, _ := c.lookup("oscar")
	if ok1 || string(m1.Salt) != string(m2.Salt) || string(m1.Salt) == string(o.Salt) {
		t.Error("mock salts are not stable per user")
	}
	for _, bad := range []string{
		"", "# nobody\n", "alice\n", ":pw\n", "alice:\n", "alice:a\nalice:b\n",
		"bob:SCRAM-SHA-256$x:c2FsdA==$AAAA:AAAA\n", "bob:SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA\n", "bob:SCRAM-SHA-256$4096\n",
	} {
		if _, err := ParseCredentials(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseCredentials(%q) succeeded", bad)
		}
	}
}
