// Package handlers is Linli's HTTP API on Fiber: routes, request and
// response types, middleware, and the one table that maps error codes to
// HTTP statuses and messages. Handlers decode and validate, make one
// service call, and encode; they never import the store.
package handlers
