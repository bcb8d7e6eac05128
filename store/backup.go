package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Backups of the embedded store (docs/ARCHITECTURE.md §10). FerretDB's
// SQLite backend keeps each database in one file, DATA_DIR/NAME.sqlite, in
// WAL mode. A backup is a folder holding a `VACUUM INTO` copy of each file
// (one read transaction: a consistent snapshot of that database, taken
// while the service goes on writing), the data folder's jwt-keys file when
// there is one, and manifest.json, written last.

// ManifestName is the file in a backup folder that lists what it holds.
const ManifestName = "manifest.json"

// manifestFormat is the version of the manifest's layout.
const manifestFormat = 1

// jwtKeysFile is the embedded store's signing-key file (app/auth.go), kept
// in the data folder and copied with the databases so tokens and QR codes
// issued before a restore still verify after it.
const jwtKeysFile = "jwt-keys"

// sqliteExt is the extension FerretDB gives each database's file.
const sqliteExt = ".sqlite"

// ErrBackupDamaged is returned by Restore when a file of the backup is
// missing or does not match the checksum the manifest records.
var ErrBackupDamaged = errors.New("store: backup damaged")

// ErrDataDirNotEmpty is returned by Restore into a data folder that holds
// files already, unless forced.
var ErrDataDirNotEmpty = errors.New("store: data folder is not empty")

// Manifest says what a backup holds.
type Manifest struct {
	Format  int          `json:"format"`
	Taken   time.Time    `json:"taken"`
	Version string       `json:"version"` // of the binary that took it
	Files   []BackupFile `json:"files"`
}

// BackupFile is one file of a backup: a database's SQLite file, with the
// documents of each of its collections counted, or the jwt-keys file.
type BackupFile struct {
	Name        string           `json:"name"`
	Database    string           `json:"database,omitempty"`
	Bytes       int64            `json:"bytes"`
	SHA256      string           `json:"sha256"`
	Collections map[string]int64 `json:"collections,omitempty"`
}

// Documents is how many documents the file's collections hold in all.
func (f BackupFile) Documents() int64 {
	var n int64
	for _, c := range f.Collections {
		n += c
	}
	return n
}

// BackupOptions says what to back up and where.
type BackupOptions struct {
	DataDir string // the embedded store's data folder
	// Databases to copy; empty: every database file in DataDir.
	Databases []string
	To        string // the backup folder: must not exist, or be empty
	Taken     time.Time
	Version   string
}

// Backup copies the databases of the embedded store in DataDir into the
// folder To while the store runs, and returns the manifest it wrote there.
// The copy is made in a sibling folder and renamed to To once complete, so
// a folder named To with a manifest is always a whole backup.
func Backup(ctx context.Context, o BackupOptions) (Manifest, error) {
	m := Manifest{
		Format:  manifestFormat,
		Taken:   o.Taken.UTC(),
		Version: o.Version,
	}
	dbs := o.Databases
	if len(dbs) == 0 {
		var err error
		if dbs, err = databaseFiles(o.DataDir); err != nil {
			return m, err
		}
		if len(dbs) == 0 {
			return m, fmt.Errorf("store: backup: no database files (*%s) in %s", sqliteExt, o.DataDir)
		}
	}
	if err := mustBeEmpty(o.To); err != nil {
		return m, fmt.Errorf("store: backup: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(o.To))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return m, fmt.Errorf("store: backup: %w", err)
	}
	work, err := os.MkdirTemp(parent, "."+filepath.Base(o.To)+".partial-")
	if err != nil {
		return m, fmt.Errorf("store: backup: %w", err)
	}
	defer os.RemoveAll(work) // gone after the rename; a failed attempt's copy otherwise
	for _, db := range dbs {
		src, dst := filepath.Join(o.DataDir, db+sqliteExt), filepath.Join(work, db+sqliteExt)
		f, err := copyDatabase(ctx, src, dst)
		if _, serr := os.Stat(src); err != nil && len(o.Databases) == 0 && errors.Is(serr, os.ErrNotExist) {
			_ = os.Remove(dst) // the database was dropped since the folder was listed
			continue
		}
		if err != nil {
			return m, fmt.Errorf("store: backup %s: %w", db, err)
		}
		f.Database = db
		m.Files = append(m.Files, f)
	}
	// The data keys too (store/sealed_local.go): without them the
	// residents' sealed fields of the copy would not open.
	for _, name := range []string{jwtKeysFile, DataKeysFile} {
		keys := filepath.Join(o.DataDir, name)
		if _, err := os.Stat(keys); err == nil {
			f, err := copyFile(keys, filepath.Join(work, name))
			if err != nil {
				return m, fmt.Errorf("store: backup %s: %w", name, err)
			}
			m.Files = append(m.Files, f)
		}
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("store: backup manifest: %w", err)
	}
	if err := writeSynced(filepath.Join(work, ManifestName), append(body, '\n')); err != nil {
		return m, fmt.Errorf("store: backup manifest: %w", err)
	}
	if err := syncDir(work); err != nil {
		return m, fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(work, o.To); err != nil { // replaces an empty To
		return m, fmt.Errorf("store: backup: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return m, fmt.Errorf("store: backup: %w", err)
	}
	return m, nil
}

// databaseFiles lists the databases that have a file in dir.
func databaseFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data folder: %w", err)
	}
	var dbs []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), sqliteExt); ok && e.Type().IsRegular() {
			dbs = append(dbs, name)
		}
	}
	sort.Strings(dbs)
	return dbs, nil
}

// mustBeEmpty returns an error unless dir is missing or an empty folder.
func mustBeEmpty(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// copyDatabase writes a consistent copy of the SQLite database at src to
// dst with VACUUM INTO, syncs it (VACUUM INTO does not), and counts the
// documents of each collection in the copy.
func copyDatabase(ctx context.Context, src, dst string) (BackupFile, error) {
	f := BackupFile{Name: filepath.Base(dst)}
	if _, err := os.Stat(src); err != nil {
		return f, err
	}
	// mode=rw: never create the file, should it be gone since the Stat.
	conn, err := sql.Open("sqlite", "file:"+src+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return f, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO `+sqlString(dst)); err != nil {
		return f, fmt.Errorf("vacuum into: %w", err)
	}
	if err := conn.Close(); err != nil {
		return f, err
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return f, err
	}
	if f.Collections, err = CountCollections(ctx, dst); err != nil {
		return f, err
	}
	if f.Bytes, f.SHA256, err = syncAndHash(dst); err != nil {
		return f, err
	}
	return f, nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CountCollections opens the FerretDB SQLite file at path without changing
// it and counts the documents of each collection, from FerretDB's own
// catalogue of collection tables.
func CountCollections(ctx context.Context, path string) (map[string]int64, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tables, err := collectionTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(tables))
	for name, table := range tables {
		var n int64
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q`, table)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		counts[name] = n
	}
	return counts, nil
}

// copyFile copies src to dst (mode 0600), synced, and returns its size and
// checksum.
func copyFile(src, dst string) (BackupFile, error) {
	f := BackupFile{Name: filepath.Base(dst)}
	in, err := os.Open(src)
	if err != nil {
		return f, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return f, err
	}
	h := sha256.New()
	f.Bytes, err = io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	return f, err
}

// syncAndHash syncs the file at path to disk and returns its size and
// SHA-256.
func syncAndHash(path string) (int64, string, error) {
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, "", err
	}
	defer file.Close()
	if err := file.Sync(); err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile returns the size and SHA-256 of the file at path.
func hashFile(path string) (int64, string, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeSynced writes b to a new file at path (mode 0600) and syncs it.
func writeSynced(path string, b []byte) error {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(b)
	if err == nil {
		err = file.Sync()
	}
	return errors.Join(err, file.Close())
}

// syncDir syncs a folder, so the names created in it survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadManifest reads and checks the manifest of the backup folder dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, fmt.Errorf("store: %s is not a backup: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("store: %s: manifest: %w", dir, err)
	}
	if m.Format != manifestFormat {
		return m, fmt.Errorf("store: %s: manifest format %d; this version reads %d", dir, m.Format, manifestFormat)
	}
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || f.Name == ManifestName || strings.HasPrefix(f.Name, ".") {
			return m, fmt.Errorf("store: %s: manifest names a file %q outside the backup", dir, f.Name)
		}
	}
	return m, nil
}

// VerifyBackup checks that every file the manifest of dir lists is there
// with its recorded size and checksum; ErrBackupDamaged names those not.
func VerifyBackup(dir string) (Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return m, err
	}
	var bad []string
	for _, f := range m.Files {
		n, sum, err := hashFile(filepath.Join(dir, f.Name))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", f.Name, err))
		case n != f.Bytes || sum != f.SHA256:
			bad = append(bad, fmt.Sprintf("%s: sha256 %s (%d bytes), manifest says %s (%d bytes)", f.Name, sum, n, f.SHA256, f.Bytes))
		}
	}
	if len(bad) > 0 {
		return m, fmt.Errorf("%w: %s", ErrBackupDamaged, strings.Join(bad, "; "))
	}
	return m, nil
}

// Restore copies the backup in folder from into the data folder dataDir,
// after checking every file against the manifest. dataDir must be missing
// or empty unless force is set; then the files the backup holds replace
// their namesakes (and a database's -wal, -shm and -journal files, which
// belong to the file replaced, are removed). The service must not be
// running on dataDir. Each file is copied under a temporary name, checked
// again, and renamed into place.
func Restore(ctx context.Context, from, dataDir string, force bool) (Manifest, error) {
	m, err := VerifyBackup(from)
	if err != nil {
		return m, err
	}
	if err := mustBeEmpty(dataDir); err != nil {
		if !force {
			return m, fmt.Errorf("%w: %s (restore over it only when told to)", ErrDataDirNotEmpty, dataDir)
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return m, fmt.Errorf("store: restore: %w", err)
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		dst := filepath.Join(dataDir, f.Name)
		if f.Database != "" {
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					return m, fmt.Errorf("store: restore: %w", err)
				}
			}
		}
		tmp := filepath.Join(dataDir, ".restoring-"+randomSuffix()+"-"+f.Name)
		got, err := copyFile(filepath.Join(from, f.Name), tmp)
		if err == nil && (got.Bytes != f.Bytes || got.SHA256 != f.SHA256) {
			err = fmt.Errorf("%w: %s changed while being copied", ErrBackupDamaged, f.Name)
		}
		if err == nil {
			err = os.Rename(tmp, dst)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return m, fmt.Errorf("store: restore %s: %w", f.Name, err)
		}
	}
	if err := syncDir(dataDir); err != nil {
		return m, fmt.Errorf("store: restore: %w", err)
	}
	return m, nil
}

// randomSuffix is 8 random hex digits for a temporary file name.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux; a clash only fails O_EXCL
	return hex.EncodeToString(b)
}

// Nightly is the folder of the nightly backups: one backup folder per day,
// named nightly-YYYY-MM-DD, taken once and kept for a number of days.
type Nightly struct {
	Root    string // where the day folders are
	DataDir string // the embedded store's data folder
	Version string
	Now     func() time.Time
}

// nightlyPrefix begins the name of each day's backup folder.
const nightlyPrefix = "nightly-"

// Take backs the store up into the folder of day, unless that day's backup
// is there already; it reports whether it took one and how many files the
// day's backup holds. Safe to repeat: a run that died left at most a
// hidden partial folder, which Prune removes.
func (n Nightly) Take(ctx context.Context, day string) (taken bool, files int, err error) {
	dir := filepath.Join(n.Root, nightlyPrefix+day)
	if m, err := ReadManifest(dir); err == nil {
		return false, len(m.Files), nil
	}
	m, err := Backup(ctx, BackupOptions{
		DataDir: n.DataDir,
		To:      dir,
		Taken:   n.Now(),
		Version: n.Version,
	})
	if err != nil {
		return false, 0, err
	}
	return true, len(m.Files), nil
}

// Prune removes the nightly backups of days before keepFrom (YYYY-MM-DD),
// and the partial folders any run left, and says how many backups it
// removed. Only folders named like a nightly backup are touched.
func (n Nightly) Prune(keepFrom string) (int, error) {
	ents, err := os.ReadDir(n.Root)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: prune backups: %w", err)
	}
	removed := 0
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		if day, ok := partialNightly(name); ok && day != "" {
			if err := os.RemoveAll(filepath.Join(n.Root, name)); err != nil {
				return removed, fmt.Errorf("store: prune backups: %w", err)
			}
			continue
		}
		day, ok := strings.CutPrefix(name, nightlyPrefix)
		if !ok || !isDay(day) || day >= keepFrom {
			continue
		}
		if err := os.RemoveAll(filepath.Join(n.Root, name)); err != nil {
			return removed, fmt.Errorf("store: prune backups: %w", err)
		}
		removed++
	}
	return removed, nil
}

// partialNightly reports whether name is the partial folder of a nightly
// backup (see Backup), and of which day.
func partialNightly(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "."+nightlyPrefix)
	if !ok {
		return "", false
	}
	day, _, ok := strings.Cut(rest, ".partial-")
	return day, ok && isDay(day)
}

// isDay reports whether s is a date written YYYY-MM-DD.
func isDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
