package pki

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceFile(t *testing.T) {
	tests := []struct {
		name        string
		fill        func(tmp string) error
		perm        fs.FileMode
		wantErr     bool
		wantContent string
	}{
		{
			name:        "replaces content and mode",
			fill:        func(tmp string) error { return os.WriteFile(tmp, []byte("new"), 0o600) },
			perm:        0o644,
			wantContent: "new",
		},
		{
			name:        "failed fill keeps the old file",
			fill:        func(tmp string) error { return errors.New("disk full") },
			perm:        0o600,
			wantErr:     true,
			wantContent: "old",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := replaceFile(path, tt.perm, tt.fill)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("replaceFile error = %v; want error %v", err, tt.wantErr)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.wantContent {
				t.Errorf("content = %q; want %q", data, tt.wantContent)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantErr && fi.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v; want %v", fi.Mode().Perm(), tt.perm)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
				t.Errorf("directory holds %d entries (err %v); want only f", len(entries), err)
			}
		})
	}
}
