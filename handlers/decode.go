package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
)

var validate = newValidator()

// newValidator checks `validate` tags and names a failing field by its JSON
// name, as the client sent it.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

// decode reads a JSON body into dst strictly: unknown fields (a resident
// trying to set their role or balance), wrong types (an operator object
// where a string belongs), numbers past int64 and trailing data are all
// refused with a 400 before anything reaches a service; then dst's
// `validate` tags are checked. A body that is not sent as JSON is a 415.
func decode(c *fiber.Ctx, dst any) error {
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		return models.ErrUnsupportedMedia.Withf("Content-Type 必须为 application/json", "Content-Type must be application/json")
	}
	// Every request body is an object: `null`, an array or a bare value
	// would otherwise decode into an empty struct and pass as "no changes".
	if b := bytes.TrimLeft(c.Body(), " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return models.ErrInvalidJSON.Withf("请求体必须是 JSON 对象", "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Field = withoutEmbedded(te.Field, dst)
		}
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return models.ErrInvalidJSON.Withf("JSON 值之后有多余的内容", "unexpected data after the JSON value")
	}
	return check(dst)
}

// noBody refuses a body on a route that takes none: no body, or an empty
// JSON object, is fine; anything else is refused before the route acts, so
// a client's mistake never rides along on a request that moves value.
func noBody(c *fiber.Ctx) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	var none struct{}
	if err := decode(c, &none); err != nil {
		if models.CodeOf(err) == models.ErrInvalidJSON.Code {
			return models.ErrInvalidJSON.Withf("此请求不接受请求体（不发送，或发送 {}）", "this request takes no body (send none, or {})")
		}
		return err
	}
	return nil
}

// check runs the validate tags of v and says which field is wrong and why,
// by its JSON name, in Chinese and English.
func check(v any) error {
	if err := validate.Struct(v); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) && len(ve) > 0 {
			return fieldProblem(ve[0], v)
		}
		return models.ErrValidation.Withf("请求内容不正确", "invalid request")
	}
	return nil
}

// fieldProblem describes one failed validate tag of body v.
func fieldProblem(f validator.FieldError, v any) *models.Error {
	name, param := withoutEmbedded(jsonName(f.Namespace()), v), f.Param()
	bad := models.ErrValidation
	kind := f.Kind()
	text := kind == reflect.String
	list := kind == reflect.Slice || kind == reflect.Array || kind == reflect.Map
	switch f.Tag() {
	case "required":
		return bad.Withf("%s 为必填项", "%s is required", name)
	case "max", "lte":
		switch {
		case text:
			return bad.Withf("%s 最多 %s 个字", "%s must be at most %s characters", name, param)
		case list:
			return bad.Withf("%s 最多 %s 项", "%s must have at most %s items", name, param)
		}
		return bad.Withf("%s 不能大于 %s", "%s must be at most %s", name, param)
	case "min", "gte":
		switch {
		case text:
			return bad.Withf("%s 至少 %s 个字", "%s must be at least %s characters", name, param)
		case list:
			return bad.Withf("%s 至少 %s 项", "%s must have at least %s items", name, param)
		}
		return bad.Withf("%s 不能小于 %s", "%s must be at least %s", name, param)
	case "oneof":
		opts := strings.Join(strings.Fields(param), ", ")
		return bad.Withf("%s 必须是以下之一：%s", "%s must be one of: %s", name, opts)
	case "datetime":
		return bad.Withf("%s 的格式应为 %s", "%s must look like %s", name, param)
	case "required_without":
		other := strings.ToLower(param) // the other field's Go name; the JSON names are lower case
		return bad.Withf("%s 与 %s 须填写其一", "one of %s and %s is required", name, other)
	case "excluded_with":
		other := strings.ToLower(param)
		return bad.Withf("%s 与 %s 只能填写其一", "give only one of %s and %s", name, other)
	case "printascii":
		return bad.Withf("%s 只能包含可打印的 ASCII 字符", "%s must be printable ASCII", name)
	}
	return bad.Withf("%s 不正确（%s）", "%s is not valid (%s)", name, f.Tag())
}

// jsonName is a validator namespace ("adjustRequest.points",
// "createHouseholdRequest.plates[0]") without the struct's own name.
func jsonName(ns string) string {
	if i := strings.Index(ns, "."); i >= 0 {
		ns = ns[i+1:]
	}
	return ns
}

// withoutEmbedded drops from a field's path ("policySettings.max_award")
// the Go names of the structs embedded in body v (a struct or a pointer to
// one): encoding/json and the validator name them, the JSON does not
// ("max_award").
func withoutEmbedded(path string, v any) string {
	embedded := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.Anonymous {
				embedded[f.Name] = true
				collect(f.Type)
			}
		}
	}
	collect(reflect.TypeOf(v))
	if len(embedded) == 0 {
		return path
	}
	var kept []string
	for _, segment := range strings.Split(path, ".") {
		if !embedded[segment] {
			kept = append(kept, segment)
		}
	}
	return strings.Join(kept, ".")
}

// jsonProblem says what is wrong with a body without echoing its content.
func jsonProblem(err error) *models.Error {
	bad := models.ErrInvalidJSON
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		zh, en := jsonKind(typeErr.Type)
		return bad.Withf("字段 %[1]q 必须是%[2]s", "field %[1]q must be %[3]s", typeErr.Field, zh, en)
	case errors.As(err, &syntaxErr):
		return bad.Withf("JSON 语法错误（第 %d 字节）", "syntax error at byte %d", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return bad.Withf("未知字段 %s", "unknown field %s", field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return bad.Withf("请求体不完整", "the body ends too early")
	}
	return bad.Withf("JSON 格式错误", "malformed JSON")
}

// jsonKind names the JSON value a Go type takes, in Chinese and English.
func jsonKind(t reflect.Type) (zh, en string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "字符串", "a string"
	case reflect.Bool:
		return "布尔值（true 或 false）", "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "整数（不超出范围）", "a whole number in range"
	case reflect.Slice, reflect.Array:
		return "数组", "an array"
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) {
			return "RFC 3339 时间", "an RFC 3339 time"
		}
		return "对象", "an object"
	}
	return "其他类型", "another type"
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
		return "", "", "", models.ErrIdempotencyKey.Withf("Idempotency-Key 须为 8 到 128 个字母、数字或 _.:- 字符", "Idempotency-Key must be 8-128 characters of letters, digits and _.:-")
	}
	// The path as decoded, so the same request sent with its ids
	// percent-encoded or not is the same request.
	path := c.Path()
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	sum := sha256.New()
	sum.Write([]byte(c.Method() + " " + path + "\n"))
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
		return 0, models.ErrValidation.Withf("%s 必须是 0 到 %d 之间的整数", "%s must be a whole number from 0 to %d", name, max)
	}
	return v, nil
}

// cursorPage reads the `cursor` and `limit` query parameters of a list
// paged by cursor (docs/PERFORMANCE.md, "Lists"): limit defaults to
// 50 and is at most 200; a cursor is what the list's last answer gave as
// `next`, and one too long to be that is INVALID_CURSOR.
func cursorPage(c *fiber.Ctx) (string, int, error) {
	limit, err := queryInt(c, "limit", 50, 200)
	if err != nil {
		return "", 0, err
	}
	if limit == 0 {
		limit = 50
	}
	cursor := c.Query("cursor")
	if len(cursor) > 64 {
		return "", 0, models.ErrBadCursor.Withf("翻页位置过长：请从第一页重新读取。", "cursor is too long; read from the first page again")
	}
	return cursor, int(limit), nil
}

// param is the path parameter name, percent-decoded: a client that
// encodes a record id as encodeURIComponent does ("claim%3A…") means the
// id with its colons. A value that is not valid percent-encoding is kept
// as sent (and names nothing).
func param(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
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
