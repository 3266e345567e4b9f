package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// externalURL finds what would make the page fetch from another host: an absolute
// http(s) URL or a protocol-relative one in src, href, url() or an import.
var externalURL = regexp.MustCompile(`(?i)https?://|(src|href)\s*=\s*["']//|url\(\s*["']?//|from\s+["']//|import\(\s*["']//`)

// comments matches the comments of the page's files: /* */ (JS, CSS), <!-- --> (HTML)
// and // to the end of a line when it starts a line or follows a blank (JS; not the
// // of a URL, which follows a colon).
var comments = regexp.MustCompile(`(?s)/\*.*?\*/|<!--.*?-->|(?m)(^|[ \t])//[^\n]*`)

// TestStaticNoExternalURL: no file of the page names another host outside comments (the
// dashboard embeds everything: no CDN), and the served page carries a Content-Security-
// Policy that lets it load from its own origin only.
func TestStaticNoExternalURL(t *testing.T) {
	static := os.DirFS("static")
	var files []string
	if err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, p)
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		code := comments.ReplaceAllString(string(b), "$1")
		for _, loc := range externalURL.FindAllStringIndex(code, -1) {
			line := strings.Count(code[:loc[0]], "\n") + 1
			t.Errorf("static/%s: an external URL outside comments near line %d: %q", p, line, code[loc[0]:min(len(code), loc[1]+40)])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("static files %v: want index.html, app.js, arm3d.js, plot.js, style.css at least", files)
	}
	// The checker sees an external URL in code, not one in a comment.
	for src, bad := range map[string]bool{
		`import { x } from 'https://cdn.example.org/x.js';`:         true,
		`<script src="//cdn.example.org/x.js"></script>`:            true,
		`a { background: url("http://example.org/a.png") }`:         true,
		`const u = 'http://' + location.host;`:                      true,
		`// see https://developer.mozilla.org/ for the Canvas API`:  false,
		`/* https://example.org/ */ const a = 1;`:                   false,
		`<!-- docs: https://example.org/ --><p>x</p>`:               false,
		`import { plot } from './plot.js'; // plots, see https://x`: false,
	} {
		if got := externalURL.MatchString(comments.ReplaceAllString(src, "$1")); got != bad {
			t.Errorf("external URL check of %q: %v, want %v", src, got, bad)
		}
	}

	r := startDaemon(t, nil)
	for _, p := range append([]string{""}, files...) {
		resp, err := http.Get(r.url + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s: %s", p, resp.Status)
		}
		dirs := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
			dirs[name] = val
		}
		if dirs["default-src"] != "'self'" || dirs["frame-ancestors"] != "'none'" ||
			strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("GET /%s: Content-Security-Policy %q; want default-src 'self', frame-ancestors 'none', no unsafe-*, no other host", p, csp)
		}
	}
}
