package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DataKeysFile holds the data and index keys of an embedded store started
// without LINLI_DATA_KEYS, made on first start in the data folder; backups
// carry it (docs/ARCHITECTURE.md §11).
const DataKeysFile = "data-keys"

// LocalDataKeys returns the keys kept in dataDir's DataKeysFile, making
// them on first start.
func LocalDataKeys(dataDir string) (*DataKeys, error) {
	spec, index, err := localDataKeySpec(dataDir)
	if err != nil {
		return nil, err
	}
	return ParseDataKeys(spec, index)
}

// localDataKeySpec reads the data folder's key file, making it (mode 0600) on
// first start. Its two lines are the values LINLI_DATA_KEYS and
// LINLI_INDEX_KEY would hold.
func localDataKeySpec(dataDir string) (spec, index string, err error) {
	path := filepath.Join(dataDir, DataKeysFile)
	b, err := os.ReadFile(path)
	if err == nil {
		lines := strings.Fields(string(b))
		if len(lines) != 2 {
			return "", "", fmt.Errorf("data keys: %s: want two lines (data keys, index key)", path)
		}
		return strings.TrimPrefix(lines[0], "LINLI_DATA_KEYS="), strings.TrimPrefix(lines[1], "LINLI_INDEX_KEY="), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	if spec, index, err = NewDataKeySpec("local1"); err != nil {
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	text := "LINLI_DATA_KEYS=" + spec + "\nLINLI_INDEX_KEY=" + index + "\n"
	// O_EXCL: of two processes starting at once on a fresh folder, one
	// writes the keys and the other reads them.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return localDataKeySpec(dataDir)
	}
	if err != nil {
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", "", fmt.Errorf("data keys: %w", err)
	}
	return spec, index, f.Close()
}
