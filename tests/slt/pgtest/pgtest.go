package pgtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDirEnv names a directory holding initdb and postgres; it takes
// precedence over $PATH and /usr/lib/postgresql/*/bin.
const BinDirEnv = "RUNNEL_PG_BINDIR"

// Server is a running PostgreSQL cluster owned by one test.
type Server struct {
	// SocketDir holds the server's unix socket; Port names it.
	SocketDir string
	Port      int
	// User is the superuser (trust authentication); Database exists.
	User     string
	Database string
}

// DSN is a connection string for the server.
func (s *Server) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.SocketDir, s.Port, s.User, s.Database)
}

// Connect opens a connection to the server.
func (s *Server) Connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, s.DSN())
}

// Start initialises a cluster in a temporary directory, starts it and
// waits until it accepts connections; t.Cleanup stops it. It fails t when
// anything goes wrong, with the server's log.
func Start(t testing.TB) *Server {
	t.Helper()
	initdb, postgres, err := findBinaries()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dir := t.TempDir()
	cred, err := credential(dir)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Server{
		SocketDir: dir,
		// Any port works: it only names the socket file in our own
		// directory. A random one keeps logs of parallel servers apart.
		Port:     20000 + rand.IntN(40000),
		User:     "postgres",
		Database: "postgres",
	}
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer logFile.Close()
	if cred != nil {
		if err := logFile.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}

	cmd := command(dir, cred, logFile, initdb, "-D", data, "-U", s.User, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err := cmd.Run(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, readLog(logPath))
	}

	srv := command(dir, cred, logFile, postgres, "-D", data, "-p", strconv.Itoa(s.Port),
		"-k", dir, "-c", "listen_addresses=", "-F", "-c", "max_connections=20",
		"-c", "shared_buffers=16MB")
	if err := srv.Start(); err != nil {
		t.Fatalf("pgtest: start postgres: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }() // ends when the server exits; Cleanup sees to that
	t.Cleanup(func() { stop(t, srv, exited, logPath) })

	if err := waitReady(s, exited); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, readLog(logPath))
	}
	return s
}

// stop asks for a fast shutdown (SIGINT) and kills the server if it has not
// exited after a while.
func stop(t testing.TB, srv *exec.Cmd, exited <-chan error, logPath string) {
	_ = srv.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = srv.Process.Kill()
		<-exited
		t.Errorf("pgtest: postgres did not stop within 15s; killed\n%s", readLog(logPath))
	}
}

func waitReady(s *Server, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last error
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("postgres exited while starting: %v", err)
		default:
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := s.Connect(cctx)
		ccancel()
		if err == nil {
			return conn.Close(ctx)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready after 30s: %v", last)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func command(dir string, cred *syscall.Credential, log *os.File, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = sysProcAttr(cred)
	return cmd
}

// credential returns whom to run the server as: nil (ourselves) unless we
// are root, which PostgreSQL refuses. Then dir is handed to that user.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres or nobody user to run PostgreSQL as: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("uid of %s: %w", u.Username, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("gid of %s: %w", u.Username, err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	// t.TempDir's parent is private to root; the server user must be able
	// to traverse it to reach its own directory.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findBinaries locates initdb and postgres.
func findBinaries() (initdb, postgres string, err error) {
	return findIn(candidateDirs())
}

// candidateDirs lists where the binaries may be, in order of preference.
func candidateDirs() []string {
	var dirs []string
	if d := os.Getenv(BinDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(versions) - 1; i >= 0; i-- { // newest first, roughly
		dirs = append(dirs, versions[i])
	}
	return dirs
}

// findIn returns the first directory of dirs holding both binaries.
func findIn(dirs []string) (initdb, postgres string, err error) {
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExec(i) && isExec(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("PostgreSQL server binaries (initdb, postgres) not found in $" + BinDirEnv +
		", $PATH or /usr/lib/postgresql/*/bin; install the package \"postgresql\" (apt-get install -y postgresql)")
}

func isExec(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return "postgres log:\n" + strings.TrimSpace(string(b))
}
