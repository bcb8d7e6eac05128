// Package web holds Linli's screens as built by Vite (web/dist): the
// residents' mobile app and the merchant clerk's page. The sources are
// beside this file; `npm ci && npm run build` rebuilds dist, which is
// committed so that `go run ./app` needs no Node.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built files, rooted at dist.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
