package server

import (
	"crypto/tls"
	"io"
	"log/slog"
	"time"
)

// Options configure a Server. The zero value is usable: every field has a
// documented default, applied by EnsureDefaults.
type Options struct {
	// Logger receives connection-level events: malformed input and
	// disconnects at debug or warn, recovered panics at error. Default: a
	// logger that discards everything.
	Logger *slog.Logger
	// TLSConfig enables TLS: an SSLRequest is answered 'S' and the
	// connection upgraded. Default nil: SSLRequest is answered 'N' and the
	// client continues in plain text (psql's sslmode=prefer, pgx's
	// default).
	TLSConfig *tls.Config
	// ServerVersion is the server_version ParameterStatus. It must start
	// with a PostgreSQL version number: psql and pgx parse it. Default
	// "15.0 (Runnel)".
	ServerVersion string
	// MaxMessageSize bounds the body of one client message in bytes; a
	// larger message closes the connection. Default 64 MiB.
	MaxMessageSize int
	// StartupTimeout bounds the handshake, from accept to the startup
	// message (TLS included). Default 10 s.
	StartupTimeout time.Duration
	// FlushRows is how many rows may wait in the output buffer while more
	// rows are ready; the buffer is flushed sooner whenever the next row
	// is not ready yet. Default 128.
	FlushRows int
}

// EnsureDefaults fills the zero fields of o with their defaults and
// returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ServerVersion == "" {
		o.ServerVersion = "15.0 (Runnel)"
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 64 << 20
	}
	if o.StartupTimeout <= 0 {
		o.StartupTimeout = 10 * time.Second
	}
	if o.FlushRows <= 0 {
		o.FlushRows = 128
	}
	return o
}
