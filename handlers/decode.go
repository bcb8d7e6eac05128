package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
)

var validate = validator.New(validator.WithRequiredStructEnabled())

// decode reads a JSON body into dst strictly: unknown fields (a resident
// trying to set their role or balance), wrong types (an operator object
// where a string belongs), numbers past int64 and trailing data are all
// refused with a 400 before anything reaches a service; then dst's
// `validate` tags are checked.
func decode(c *fiber.Ctx, dst any) error {
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		return models.Errorf(models.ErrInvalidJSON.Code, "Content-Type must be application/json")
	}
	// Every request body is an object: `null`, an array or a bare value
	// would otherwise decode into an empty struct and pass as "no changes".
	if b := bytes.TrimLeft(c.Body(), " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return models.Errorf(models.ErrInvalidJSON.Code, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return models.Errorf(models.ErrInvalidJSON.Code, "%s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return models.Errorf(models.ErrInvalidJSON.Code, "unexpected data after the JSON value")
	}
	return check(dst)
}

// check runs the validate tags of v.
func check(v any) error {
	if err := validate.Struct(v); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) && len(ve) > 0 {
			f := ve[0]
			return models.Errorf(models.ErrValidation.Code, "%s: failed %s %s", jsonName(f.Namespace()), f.Tag(), f.Param())
		}
		return models.Errorf(models.ErrValidation.Code, "invalid request")
	}
	return nil
}

func jsonName(ns string) string {
	if i := strings.Index(ns, "."); i >= 0 {
		ns = ns[i+1:]
	}
	return ns
}

// jsonProblem says what is wrong with a body without echoing its content.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "malformed JSON"
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:\-]{8,128}$`)

// idempotency returns the operation id and request hash of a value-moving
// request. The key is scoped to the caller, so two callers cannot collide;
// the hash covers the method, path and body, so reusing a key for another
// request is detected.
func idempotency(c *fiber.Ctx, p models.Principal) (key, opID, hash string, err error) {
	key = c.Get("Idempotency-Key")
	if key == "" {
		return "", "", "", models.ErrIdempotencyKey
	}
	if !keyPattern.MatchString(key) {
		return "", "", "", models.Errorf(models.ErrIdempotencyKey.Code, "Idempotency-Key must be 8-128 characters of letters, digits and _.:-")
	}
	sum := sha256.New()
	sum.Write([]byte(c.Method() + " " + c.Path() + "\n"))
	sum.Write(c.Body())
	return key, "k:" + p.ResidentID + ":" + key, hex.EncodeToString(sum.Sum(nil)), nil
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c *fiber.Ctx, name string, def, max int64) (int64, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > max {
		return 0, models.Errorf(models.ErrValidation.Code, "%s must be a whole number from 0 to %d", name, max)
	}
	return v, nil
}

// reasonRequest is a body that only gives a reason, as staff decisions do.
type reasonRequest struct {
	Reason string `json:"reason" validate:"required,max=500"`
}

// mapEach converts every element of in with f; the result is never nil, so
// an empty list is encoded as [] rather than null.
func mapEach[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
