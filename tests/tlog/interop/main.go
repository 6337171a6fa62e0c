// Command interop checks a timeline log with Go's own transparency-log code
// (golang.org/x/mod/sumdb/note and sumdb/tlog), which nobody on the project wrote.
//
//	interop URL VERIFIER_KEY EXPORT.ndjson [OLD_CHECKPOINT]
//
// It opens the server's latest checkpoint with the verifier key (note.Open),
// checks every logged line of the export against it with an inclusion proof
// from the server (tlog.CheckRecord) and with a proof Go builds itself from the
// server's tiles (tlog.TileHashReader, tlog.ProveRecord), and, given an older
// signed checkpoint, checks the server's consistency proof (tlog.CheckTree).
// It prints one line per check and exits 1 when any fails.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string
var failed bool

func fail(format string, args ...interface{}) {
	failed = true
	fmt.Printf("FAIL "+format+"\n", args...)
}

func get(path string) ([]byte, error) {
	resp, err := http.Get(base + "/v1/log/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// checkpoint opens a signed checkpoint: origin, tree size and root hash.
func checkpoint(msg []byte, verifiers note.Verifiers) (string, tlog.Tree, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return "", tlog.Tree{}, err
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return "", tlog.Tree{}, fmt.Errorf("not a checkpoint: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return "", tlog.Tree{}, err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return "", tlog.Tree{}, err
	}
	return lines[0], tlog.Tree{N: size, Hash: root}, nil
}

func hashes(body []byte) ([]tlog.Hash, error) {
	var proof struct{ Hashes []string }
	if err := json.Unmarshal(body, &proof); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(proof.Hashes))
	for i, h := range proof.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("bad hash %q", h)
		}
		copy(out[i][:], raw)
	}
	return out, nil
}

// tiles reads C2SP tlog-tiles paths: Go's tile/8/L/N with the height left out.
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(list))
	for i, t := range list {
		body, err := get("tile/" + strings.TrimPrefix(t.Path(), "tile/8/"))
		if err != nil {
			return nil, err
		}
		data[i] = body
	}
	return data, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: interop URL VERIFIER_KEY EXPORT.ndjson [OLD_CHECKPOINT]")
		os.Exit(2)
	}
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifier key:", err)
		os.Exit(2)
	}
	verifiers := note.VerifierList(verifier)

	msg, err := get("checkpoint")
	if err != nil {
		fail("checkpoint: %v", err)
		os.Exit(1)
	}
	origin, tree, err := checkpoint(msg, verifiers)
	if err != nil {
		fail("note.Open: %v", err)
		os.Exit(1)
	}
	fmt.Printf("OK note.Open %s size %d\n", origin, tree.N)

	export, err := os.Open(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	reader := tlog.TileHashReader(tree, tiles{})
	scanner := bufio.NewScanner(export)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	checked := int64(0)
	for line := int64(1); scanner.Scan(); line++ {
		entry := scanner.Bytes()
		var fields struct{ Log_index *int64 }
		if err := json.Unmarshal(entry, &fields); err != nil || fields.Log_index == nil {
			continue
		}
		index := *fields.Log_index
		if index >= tree.N {
			continue
		}
		leaf := tlog.RecordHash(append([]byte(nil), entry...))
		body, err := get(fmt.Sprintf("proof/inclusion?index=%d&size=%d", index, tree.N))
		if err == nil {
			var proof []tlog.Hash
			if proof, err = hashes(body); err == nil {
				err = tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf)
			}
		}
		if err != nil {
			fail("tlog.CheckRecord line %d (log_index %d): %v", line, index, err)
			continue
		}
		own, err := tlog.ProveRecord(tree.N, index, reader)
		if err == nil {
			err = tlog.CheckRecord(own, tree.N, tree.Hash, index, leaf)
		}
		if err != nil {
			fail("tlog.ProveRecord from tiles, line %d (log_index %d): %v", line, index, err)
			continue
		}
		checked++
	}
	if checked == tree.N {
		fmt.Printf("OK tlog.CheckRecord %d lines\n", checked)
	} else if !failed {
		fail("the export holds %d of the %d leaves", checked, tree.N)
	}

	if len(os.Args) > 4 {
		old, err := os.ReadFile(os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_, past, err := checkpoint(old, verifiers)
		if err != nil {
			fail("note.Open old checkpoint: %v", err)
			os.Exit(1)
		}
		body, err := get(fmt.Sprintf("proof/consistency?from=%d&to=%d", past.N, tree.N))
		if err == nil {
			var proof []tlog.Hash
			if proof, err = hashes(body); err == nil {
				err = tlog.CheckTree(proof, tree.N, tree.Hash, past.N, past.Hash)
			}
		}
		if err != nil {
			fail("tlog.CheckTree %d -> %d: %v", past.N, tree.N, err)
		} else {
			fmt.Printf("OK tlog.CheckTree %d -> %d\n", past.N, tree.N)
		}
	}
	if failed {
		os.Exit(1)
	}
}
