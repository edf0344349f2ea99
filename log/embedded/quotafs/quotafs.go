// Package quotafs is a Pebble vfs.FS for tests of a full disk: it holds
// the files written through it to a byte quota, failing any write past the
// quota with ENOSPC exactly as a full filesystem does (a short write, then
// the error), and reports the space left through GetDiskUsage.
//
// It wraps a real filesystem (normally vfs.Default over a test's temporary
// directory), so a database written through it survives a restart, and it
// can lie: ReportFree makes GetDiskUsage report a chosen amount of free
// space while writes are still held to the quota. That models another
// process filling the disk between a free-space check and a write.
//
// Files report no OS file descriptor (Fd returns vfs.InvalidFd), so Pebble
// neither preallocates nor sync_file_range's them behind the quota's back.
//
// It is a test tool: it counts what passes through it, not the blocks the
// wrapped filesystem really allocates, and it ignores hard links' sharing.
package quotafs

import (
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// FS is a quota-bound vfs.FS. It is safe for concurrent use.
type FS struct {
	inner vfs.FS

	mu struct {
		sync.Mutex
		// quota is the most bytes the files may use.
		quota int64
		// used is the sum of files' allocated bytes.
		used int64
		// files maps a path to its allocation, shared with its open handles.
		files map[string]*alloc
		// reportFree, when >= 0, is what GetDiskUsage reports as free.
		reportFree int64
		// enospc counts the ENOSPC errors returned.
		enospc int64
	}
}

// alloc is the space one file takes: the furthest byte written or
// preallocated. Guarded by FS.mu.
type alloc struct {
	n int64
}

var _ vfs.FS = (*FS)(nil)

// New returns an FS over inner holding files to quota bytes. Files that
// already exist under dir count against the quota, so a test can reopen a
// database with a new FS.
func New(inner vfs.FS, dir string, quota int64) (*FS, error) {
	fs := &FS{inner: inner}
	fs.mu.quota = quota
	fs.mu.reportFree = -1
	fs.mu.files = make(map[string]*alloc)
	if err := fs.scan(dir); err != nil {
		return nil, err
	}
	return fs, nil
}

// scan counts the files under dir.
func (fs *FS) scan(dir string) error {
	names, err := fs.inner.List(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, name := range names {
		p := fs.inner.PathJoin(dir, name)
		fi, err := fs.inner.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := fs.scan(p); err != nil {
				return err
			}
			continue
		}
		fs.mu.files[p] = &alloc{n: fi.Size()}
		fs.mu.used += fi.Size()
	}
	return nil
}

// SetQuota changes the quota: lower it to fill the disk, raise it to free
// space. Files already over a lowered quota stay; only new writes fail.
func (fs *FS) SetQuota(quota int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.quota = quota
}

// Fill sets the quota so that exactly free bytes are left, and returns the
// new quota.
func (fs *FS) Fill(free int64) int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.quota = fs.mu.used + free
	return fs.mu.quota
}

// ReportFree makes GetDiskUsage report free bytes available whatever the
// quota leaves, until a write fails with ENOSPC: the disk looked free, but
// something else filled it, and the failure shows it. A negative value
// reports the truth again at once.
func (fs *FS) ReportFree(free int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.reportFree = free
}

// Used returns the bytes the files use.
func (fs *FS) Used() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.mu.used
}

// Free returns the bytes left under the quota.
func (fs *FS) Free() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return max(fs.mu.quota-fs.mu.used, 0)
}

// ENOSPCs returns how many operations failed with ENOSPC.
func (fs *FS) ENOSPCs() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.mu.enospc
}

// track returns the allocation of name, counting a file it has not seen
// at its current size. The Stat runs outside the lock.
func (fs *FS) track(name string) *alloc {
	fs.mu.Lock()
	a := fs.mu.files[name]
	fs.mu.Unlock()
	if a != nil {
		return a
	}
	var size int64
	if fi, err := fs.inner.Stat(name); err == nil && !fi.IsDir() {
		size = fi.Size()
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if a := fs.mu.files[name]; a != nil {
		return a
	}
	a = &alloc{n: size}
	fs.mu.used += size
	fs.mu.files[name] = a
	return a
}

// forgetLocked drops name's allocation.
func (fs *FS) forgetLocked(name string) {
	if a := fs.mu.files[name]; a != nil {
		fs.mu.used -= a.n
		delete(fs.mu.files, name)
	}
}

// grow charges the bytes [off, off+n) of a would add, and returns how
// many of the n bytes fit under the quota (all of them, or fewer for a
// short write).
func (fs *FS) grow(a *alloc, off, n int64) int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	end := off + n
	if end <= a.n {
		return n
	}
	room := fs.mu.quota - fs.mu.used
	if end-a.n <= room {
		fs.mu.used += end - a.n
		a.n = end
		return n
	}
	fit := max(a.n+max(room, 0)-off, 0)
	if fit > 0 {
		fs.mu.used += off + fit - a.n
		a.n = off + fit
	}
	fs.failedLocked()
	return fit
}

// failedLocked counts an ENOSPC and ends a ReportFree lie.
func (fs *FS) failedLocked() {
	fs.mu.enospc++
	fs.mu.reportFree = -1
}

func enospc(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: syscall.ENOSPC}
}

// Create implements vfs.FS.
func (fs *FS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.inner.Create(name, category)
	if err != nil {
		return nil, err
	}
	fs.mu.Lock()
	// Create replaces any file of that name with a new, empty one.
	fs.forgetLocked(name)
	a := &alloc{}
	fs.mu.files[name] = a
	fs.mu.Unlock()
	return &file{fs: fs, inner: f, name: name, a: a}, nil
}

// Link implements vfs.FS.
func (fs *FS) Link(oldname, newname string) error {
	if err := fs.inner.Link(oldname, newname); err != nil {
		return err
	}
	fs.track(newname)
	return nil
}

// Open implements vfs.FS.
func (fs *FS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.inner.Open(name, opts...)
	if err != nil {
		return nil, err
	}
	return &file{fs: fs, inner: f, name: name, a: fs.track(name)}, nil
}

// OpenReadWrite implements vfs.FS.
func (fs *FS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.inner.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	return &file{fs: fs, inner: f, name: name, a: fs.track(name)}, nil
}

// OpenDir implements vfs.FS.
func (fs *FS) OpenDir(name string) (vfs.File, error) { return fs.inner.OpenDir(name) }

// Remove implements vfs.FS.
func (fs *FS) Remove(name string) error {
	if err := fs.inner.Remove(name); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.forgetLocked(name)
	return nil
}

// RemoveAll implements vfs.FS.
func (fs *FS) RemoveAll(name string) error {
	err := fs.inner.RemoveAll(name)
	prefix := name + string(os.PathSeparator)
	fs.mu.Lock()
	var under []string
	for p := range fs.mu.files {
		if p == name || strings.HasPrefix(p, prefix) {
			under = append(under, p)
		}
	}
	fs.mu.Unlock()
	// RemoveAll may stop at an error: forget only what is gone.
	for _, p := range under {
		if _, serr := fs.inner.Stat(p); os.IsNotExist(serr) {
			fs.mu.Lock()
			fs.forgetLocked(p)
			fs.mu.Unlock()
		}
	}
	return err
}

// Rename implements vfs.FS.
func (fs *FS) Rename(oldname, newname string) error {
	fs.track(oldname)
	if err := fs.inner.Rename(oldname, newname); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.renameLocked(oldname, newname)
	return nil
}

// renameLocked moves oldname's allocation (tracked by the caller) to
// newname, freeing what newname held.
func (fs *FS) renameLocked(oldname, newname string) {
	a := fs.mu.files[oldname]
	if oldname == newname || a == nil {
		return
	}
	fs.forgetLocked(newname)
	delete(fs.mu.files, oldname)
	fs.mu.files[newname] = a
}

// ReuseForWrite implements vfs.FS.
func (fs *FS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	fs.track(oldname)
	f, err := fs.inner.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	fs.mu.Lock()
	fs.renameLocked(oldname, newname)
	fs.mu.Unlock()
	return &file{fs: fs, inner: f, name: newname, a: fs.track(newname)}, nil
}

// MkdirAll implements vfs.FS.
func (fs *FS) MkdirAll(dir string, perm os.FileMode) error { return fs.inner.MkdirAll(dir, perm) }

// Lock implements vfs.FS.
func (fs *FS) Lock(name string) (io.Closer, error) { return fs.inner.Lock(name) }

// List implements vfs.FS.
func (fs *FS) List(dir string) ([]string, error) { return fs.inner.List(dir) }

// Stat implements vfs.FS.
func (fs *FS) Stat(name string) (vfs.FileInfo, error) { return fs.inner.Stat(name) }

// PathBase implements vfs.FS.
func (fs *FS) PathBase(path string) string { return fs.inner.PathBase(path) }

// PathJoin implements vfs.FS.
func (fs *FS) PathJoin(elem ...string) string { return fs.inner.PathJoin(elem...) }

// PathDir implements vfs.FS.
func (fs *FS) PathDir(path string) string { return fs.inner.PathDir(path) }

// GetDiskUsage implements vfs.FS: the quota is the disk.
func (fs *FS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	free := max(fs.mu.quota-fs.mu.used, 0)
	if fs.mu.reportFree >= 0 {
		free = fs.mu.reportFree
	}
	return vfs.DiskUsage{
		AvailBytes: uint64(free),
		TotalBytes: uint64(max(fs.mu.quota, 0)),
		UsedBytes:  uint64(fs.mu.used),
	}, nil
}

// Unwrap implements vfs.FS.
func (fs *FS) Unwrap() vfs.FS { return fs.inner }

// file is a file whose writes are charged to its FS's quota.
type file struct {
	fs    *FS
	inner vfs.File
	name  string
	a     *alloc
	// pos is where Write writes next; the file is used by one goroutine
	// at a time for writing (vfs.File's contract).
	pos int64
}

var _ vfs.File = (*file)(nil)

func (f *file) Close() error { return f.inner.Close() }

func (f *file) Read(p []byte) (int, error) {
	n, err := f.inner.Read(p)
	f.pos += int64(n)
	return n, err
}

func (f *file) ReadAt(p []byte, off int64) (int, error) { return f.inner.ReadAt(p, off) }

// Write writes what fits under the quota and fails with ENOSPC if that is
// not all of p.
func (f *file) Write(p []byte) (int, error) {
	fit := f.fs.grow(f.a, f.pos, int64(len(p)))
	n, err := f.inner.Write(p[:fit])
	f.pos += int64(n)
	if err == nil && fit < int64(len(p)) {
		err = enospc("write", f.name)
	}
	return n, err
}

// WriteAt is Write at an offset.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	fit := f.fs.grow(f.a, off, int64(len(p)))
	n, err := f.inner.WriteAt(p[:fit], off)
	if err == nil && fit < int64(len(p)) {
		err = enospc("write", f.name)
	}
	return n, err
}

// Preallocate charges the range, all or nothing, as fallocate does.
func (f *file) Preallocate(off, length int64) error {
	f.fs.mu.Lock()
	end := off + length
	if grow := end - f.a.n; grow > 0 {
		if grow > f.fs.mu.quota-f.fs.mu.used {
			f.fs.failedLocked()
			f.fs.mu.Unlock()
			return enospc("fallocate", f.name)
		}
		f.fs.mu.used += grow
		f.a.n = end
	}
	f.fs.mu.Unlock()
	return nil
}

func (f *file) Stat() (vfs.FileInfo, error) { return f.inner.Stat() }
func (f *file) Sync() error                 { return f.inner.Sync() }
func (f *file) SyncData() error             { return f.inner.SyncData() }
func (f *file) SyncTo(length int64) (bool, error) {
	return f.inner.SyncTo(length)
}
func (f *file) Prefetch(off, length int64) error { return f.inner.Prefetch(off, length) }

// Fd reports no descriptor, so that nothing bypasses the quota through it.
func (f *file) Fd() uintptr { return vfs.InvalidFd }
