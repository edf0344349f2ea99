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
	// Credentials, when set, require every client to log in with a
	// password, by SCRAM-SHA-256; a wrong password or an unknown user
	// gets FATAL 28P01. Default nil: any user name connects without a
	// password.
	Credentials *Credentials
	// MaxConnections bounds the sessions served at once; a connection
	// past it gets FATAL 53300 (too_many_connections) right after its
	// StartupMessage, before it authenticates or gets a session. A
	// CancelRequest does not count. Default 100.
	MaxConnections int
	// MaxPortals bounds the portals one connection keeps open at once
	// (each may hold a running query); a Bind past it fails with 54000.
	// Default 1000.
	MaxPortals int
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
	if o.MaxConnections <= 0 {
		o.MaxConnections = 100
	}
	if o.MaxPortals <= 0 {
		o.MaxPortals = 1000
	}
	return o
}
