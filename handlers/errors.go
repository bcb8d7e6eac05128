package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/linli-community/linli/models"
)

// errorInfo is a code's HTTP status and its message in English and Chinese.
type errorInfo struct {
	status int    // the HTTP status of the answer
	en     string // the message for a caller who reads English
	zh     string // the message for a caller who reads Chinese
}

// errorTable maps every stable code to its HTTP status and message. It is
// the only place where errors become HTTP.
//
// It is written as a table, one keyed row per code, rather than one field
// per line: a code reads with its status and both messages side by side,
// a missing message or a changed status is a one-line diff, and the rows
// line up so the statuses can be scanned down one column.
var errorTable = map[models.Code]errorInfo{
	models.ErrValidation.Code:          {status: http.StatusBadRequest, en: "The request is not valid.", zh: "请求内容不正确。"},
	models.ErrInvalidJSON.Code:         {status: http.StatusBadRequest, en: "The request body is not valid JSON of the expected shape.", zh: "请求体不是格式正确的 JSON。"},
	models.ErrBadCursor.Code:           {status: http.StatusBadRequest, en: "The cursor is not one this list gave out; read from the first page again.", zh: "翻页位置无效，请从第一页重新读取。"},
	models.ErrNotFound.Code:            {status: http.StatusNotFound, en: "Not found.", zh: "未找到。"},
	models.ErrForbidden.Code:           {status: http.StatusForbidden, en: "You may not do this.", zh: "无权进行此操作。"},
	models.ErrUnauthenticated.Code:     {status: http.StatusUnauthorized, en: "Sign in first.", zh: "请先登录。"},
	models.ErrInvalidCredentials.Code:  {status: http.StatusUnauthorized, en: "Wrong phone number or password.", zh: "手机号或密码错误。"},
	models.ErrMovedAway.Code:           {status: http.StatusForbidden, en: "You have moved away from this community, so this account is closed; the community office can tell you what is kept about you.", zh: "您已迁出本社区，账号已停用；如需查询个人信息，请联系社区工作人员。"},
	models.ErrTokenReused.Code:         {status: http.StatusUnauthorized, en: "This sign-in has ended; sign in again.", zh: "登录已失效，请重新登录。"},
	models.ErrRateLimited.Code:         {status: http.StatusTooManyRequests, en: "Too many attempts; try again later.", zh: "尝试次数过多，请稍后再试。"},
	models.ErrConflict.Code:            {status: http.StatusConflict, en: "This conflicts with the current state.", zh: "与当前状态冲突。"},
	models.ErrAlreadyExists.Code:       {status: http.StatusConflict, en: "It already exists.", zh: "记录已存在。"},
	models.ErrInsufficientPoints.Code:  {status: http.StatusConflict, en: "Not enough points.", zh: "积分不足。"},
	models.ErrInsufficientHours.Code:   {status: http.StatusConflict, en: "Not enough hours.", zh: "时长不足。"},
	models.ErrIdempotencyKey.Code:      {status: http.StatusBadRequest, en: "An Idempotency-Key header is required.", zh: "缺少 Idempotency-Key 请求头。"},
	models.ErrIdempotencyMismatch.Code: {status: http.StatusUnprocessableEntity, en: "This Idempotency-Key was used for another request.", zh: "该 Idempotency-Key 已用于其他请求。"},
	models.ErrOutOfBounds.Code:         {status: http.StatusUnprocessableEntity, en: "The amount is outside the community's bounds.", zh: "数额超出本社区规定范围。"},
	models.ErrImportRejected.Code:      {status: http.StatusUnprocessableEntity, en: "Some rows are wrong; nothing was imported.", zh: "部分行有误，未导入任何数据。"},
	models.ErrBodyTooLarge.Code:        {status: http.StatusRequestEntityTooLarge, en: "The request body is too large.", zh: "请求体过大。"},
	models.ErrUnsupportedMedia.Code:    {status: http.StatusUnsupportedMediaType, en: "Send application/json.", zh: "请使用 application/json。"},
	models.ErrAlreadyReversed.Code:     {status: http.StatusConflict, en: "This entry has already been reversed.", zh: "该记录已被冲正。"},
	models.ErrUnavailable.Code:         {status: http.StatusServiceUnavailable, en: "The service is not ready.", zh: "服务暂不可用。"},
	models.ErrNotEligible.Code:         {status: http.StatusForbidden, en: "You are not eligible for this reward.", zh: "不符合兑换条件。"},
	models.ErrRewardInactive.Code:      {status: http.StatusConflict, en: "This reward is not offered now.", zh: "该兑换项目当前不可兑换。"},
	models.ErrSoldOut.Code:             {status: http.StatusConflict, en: "This reward is sold out.", zh: "该兑换项目已兑完。"},
	models.ErrLimitReached.Code:        {status: http.StatusConflict, en: "You have reached the limit for this reward.", zh: "已达到该项目的兑换上限。"},
	models.ErrAlreadyRedeemed.Code:     {status: http.StatusConflict, en: "This code has already been redeemed.", zh: "该二维码已被核销。"},
	models.ErrTokenExpired.Code:        {status: http.StatusGone, en: "This code has expired; show a new one.", zh: "二维码已过期，请刷新。"},
	models.ErrTokenInvalid.Code:        {status: http.StatusBadRequest, en: "This code is not valid.", zh: "二维码无效。"},
	models.ErrRedemptionClosed.Code:    {status: http.StatusConflict, en: "This redemption is already closed.", zh: "该兑换单已结束。"},
	models.ErrRefundWindowEnded.Code:   {status: http.StatusConflict, en: "The refund window has ended.", zh: "已超过可退期限。"},
	models.ErrBaysFull.Code:            {status: http.StatusConflict, en: "No visitor bay is free that day.", zh: "当日访客车位已约满。"},
	models.ErrNotFilialDay.Code:        {status: http.StatusConflict, en: "Filial-visit parking is free only on the community's visiting days (Saturday and Sunday unless the policy says otherwise).", zh: "孝老停车仅限社区规定的探访日（默认周六、周日），该日不可预约。"},
	models.ErrVisitClosed.Code:         {status: http.StatusConflict, en: "This visit has begun or is over; it can no longer be cancelled.", zh: "该探访已开始或已结束，不能再取消。"},
	models.ErrNominationOpen.Code:      {status: http.StatusConflict, en: "This resident or household already has an open nomination (in notice or listed).", zh: "该居民或该户已有未结束的红榜提名（公示中或已上榜），不能重复提名。"},
	models.ErrActivityFull.Code:        {status: http.StatusConflict, en: "The activity is full.", zh: "活动名额已满。"},
	models.ErrSignupClosed.Code:        {status: http.StatusConflict, en: "Sign-up for this activity is closed.", zh: "该活动已停止报名或取消。"},
	models.ErrQRInvalid.Code:           {status: http.StatusUnprocessableEntity, en: "This QR code is not valid.", zh: "二维码无效。"},
	models.ErrQRExpired.Code:           {status: http.StatusUnprocessableEntity, en: "This QR code has expired; scan the current one.", zh: "二维码已过期，请扫描最新的二维码。"},
	models.ErrQRWrongActivity.Code:     {status: http.StatusUnprocessableEntity, en: "This QR code belongs to another activity.", zh: "该二维码属于其他活动。"},
	models.ErrOutsideWindow.Code:       {status: http.StatusConflict, en: "Check-in is only possible during the activity.", zh: "不在活动签到时间内。"},
	models.ErrAlreadyCheckedIn.Code:    {status: http.StatusConflict, en: "Already checked in.", zh: "已签到。"},
	models.ErrNotCheckedIn.Code:        {status: http.StatusConflict, en: "Check in before checking out.", zh: "尚未签到，无法签退。"},
	models.ErrAlreadyCheckedOut.Code:   {status: http.StatusConflict, en: "Already checked out.", zh: "已签退。"},
	models.ErrRecordOverlap.Code:       {status: http.StatusConflict, en: "This overlaps another service record of the same resident.", zh: "与该居民的其他服务记录时间重叠。"},
	models.ErrRecordDecided.Code:       {status: http.StatusConflict, en: "This service record has already been decided.", zh: "该服务记录已审核。"},
	models.ErrAidState.Code:            {status: http.StatusConflict, en: "The mutual-aid request is not in a state that allows this.", zh: "互助单当前状态不允许此操作。"},
	models.ErrFamilyNotVerified.Code:   {status: http.StatusUnprocessableEntity, en: "Hours may only be gifted to a verified family member.", zh: "只能转赠给经核实的家庭成员。"},
	models.ErrGiftAge.Code:             {status: http.StatusUnprocessableEntity, en: "The relative is below the age for receiving gifted hours.", zh: "受赠亲属未达到规定年龄。"},
	models.ErrGiftYearlyCap.Code:       {status: http.StatusUnprocessableEntity, en: "This gift is over the yearly gifting limit.", zh: "超出年度转赠上限。"},
	models.ErrSelfCheckinOff.Code:      {status: http.StatusForbidden, en: "This activity does not allow self check-in; ask the organiser.", zh: "该活动不支持自助签到，请联系组织者。"},
	models.ErrConsentRequired.Code:     {status: http.StatusForbidden, en: "Read and accept the privacy notice first.", zh: "请先阅读并同意《个人信息保护告知书》。"},
	models.ErrConsentVersion.Code:      {status: http.StatusConflict, en: "This is not the privacy notice in force; read it again.", zh: "该告知书不是现行版本，请重新阅读。"},
	models.ErrCategoryLocked.Code:      {status: http.StatusUnprocessableEntity, en: "Notifications about money and the honour roll cannot be turned off.", zh: "涉及钱款和诚信红榜的通知不能关闭。"},
	"ROUTE_NOT_FOUND":                  {status: http.StatusNotFound, en: "No such endpoint.", zh: "接口不存在。"},
	"METHOD_NOT_ALLOWED":               {status: http.StatusMethodNotAllowed, en: "Method not allowed.", zh: "不支持该请求方法。"},
	"TIMEOUT":                          {status: http.StatusServiceUnavailable, en: "The request took too long.", zh: "请求超时。"},
	"HEADERS_TOO_LARGE":                {status: http.StatusRequestHeaderFieldsTooLarge, en: "The request headers are too large.", zh: "请求头过大。"},
	"BAD_REQUEST":                      {status: http.StatusBadRequest, en: "The request is malformed.", zh: "请求格式错误。"},
	"INTERNAL":                         {status: http.StatusInternalServerError, en: "Something went wrong on our side.", zh: "服务器内部错误。"},
}

// errorBody is the envelope of every error answer: {"error": {...}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is an error answer: the stable code, the message in the caller's language,
// the detail of this refusal when there is one, and the request id to find it in the logs.
type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id"`
}

// wantsChinese reports whether the caller reads Chinese: no Accept-Language, or one that
// names zh before en.
func wantsChinese(c *fiber.Ctx) bool {
	acceptLanguage := strings.ToLower(c.Get(fiber.HeaderAcceptLanguage))
	if acceptLanguage == "" {
		return true // the community's own language
	}
	zh, en := strings.Index(acceptLanguage, "zh"), strings.Index(acceptLanguage, "en")
	return zh >= 0 && (en < 0 || zh < en)
}

// ensureRequestID returns the request's id, giving one to a request the
// server refused before any middleware ran (a body past the limit), so
// every error can be found in the logs.
func ensureRequestID(c *fiber.Ctx) string {
	if id := requestID(c); id != "" {
		return id
	}
	id := utils.UUIDv4()
	c.Locals("requestid", id)
	c.Set("X-Request-ID", id)
	return id
}

// errorHandler is Fiber's ErrorHandler: every error a route returns ends
// here and is answered with a stable code; internal errors are logged with
// the request id and never shown.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		zh := wantsChinese(c)
		code, detail := models.CodeOf(err), ""
		var modelErr *models.Error
		if errors.As(err, &modelErr) {
			detail = modelErr.LocalDetail(zh)
		}
		var fiberErr *fiber.Error
		if code == "" && errors.As(err, &fiberErr) {
			switch fiberErr.Code {
			case fiber.StatusNotFound:
				code = "ROUTE_NOT_FOUND"
			case fiber.StatusMethodNotAllowed:
				code = "METHOD_NOT_ALLOWED"
			case fiber.StatusRequestEntityTooLarge:
				code = models.ErrBodyTooLarge.Code
			case fiber.StatusUnsupportedMediaType:
				code = models.ErrUnsupportedMedia.Code
			case fiber.StatusBadRequest:
				code = models.ErrInvalidJSON.Code
			case fiber.StatusRequestHeaderFieldsTooLarge:
				code = "HEADERS_TOO_LARGE"
			default:
				if fiberErr.Code >= 400 && fiberErr.Code < 500 {
					code = "BAD_REQUEST" // any other malformed request the server refused
				}
			}
		}
		if code == "" && isTimeout(err) {
			code = "TIMEOUT"
		}
		info, ok := errorTable[code]
		if !ok {
			log.ErrorContext(c.UserContext(), "request failed", "request_id", requestID(c),
				"method", c.Method(), "path", c.Path(), "err", err)
			code, info, detail = "INTERNAL", errorTable["INTERNAL"], ""
		}
		msg := info.en
		if zh {
			msg = info.zh
		}
		return c.Status(info.status).JSON(errorBody{Error: errorDetail{
			Code:      string(code),
			Message:   msg,
			Detail:    detail,
			RequestID: ensureRequestID(c),
		}})
	}
}
