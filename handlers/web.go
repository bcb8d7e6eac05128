package handlers

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// contentSecurityPolicy lets the screens load only what the binary serves:
// no inline scripts, no other origin; QR images are shown from blob: URLs
// and the camera preview is a media stream.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self' data:; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Web serves the built screens in files at / (the residents' app),
// /merchant/ (the clerk's page) and /console/ (the community office's
// console and the partners' pages). A path that names no file is a route of
// the page it falls under, so it gets that page's index.html. Mount it
// after every other route: it answers any GET outside /api/. It is a
// middleware, not a GET route, so another method on an unknown path is
// still a 404 rather than a 405.
func Web(app *fiber.App, files fs.FS) {
	app.Use(func(c *fiber.Ctx) error {
		p := path.Clean("/" + c.Path())
		if (c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead) || p == "/api" || strings.HasPrefix(p, "/api/") {
			return c.Next()
		}
		name := strings.TrimPrefix(p, "/")
		if info, err := fs.Stat(files, name); err != nil || info.IsDir() {
			name = "index.html"
			for _, app := range []string{"merchant", "console"} {
				if p == "/"+app || strings.HasPrefix(p, "/"+app+"/") {
					name = app + "/index.html"
				}
			}
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return fiber.ErrNotFound
		}
		c.Set("Content-Security-Policy", contentSecurityPolicy)
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("Referrer-Policy", "same-origin")
		if strings.HasPrefix(name, "assets/") {
			// Vite names assets by their content: they never change.
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "no-cache")
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = fiber.MIMEOctetStream
		}
		c.Set(fiber.HeaderContentType, ct)
		return c.Send(body)
	})
}
