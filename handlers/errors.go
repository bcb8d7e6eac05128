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
	status int
	en, zh string
}

// errorTable maps every stable code to its HTTP status and message. It is
// the only place where errors become HTTP.
var errorTable = map[models.Code]errorInfo{
	models.ErrValidation.Code:          {http.StatusBadRequest, "The request is not valid.", "请求内容不正确。"},
	models.ErrInvalidJSON.Code:         {http.StatusBadRequest, "The request body is not valid JSON of the expected shape.", "请求体不是格式正确的 JSON。"},
	models.ErrBadCursor.Code:           {http.StatusBadRequest, "The cursor is not one this list gave out; read from the first page again.", "翻页位置无效，请从第一页重新读取。"},
	models.ErrNotFound.Code:            {http.StatusNotFound, "Not found.", "未找到。"},
	models.ErrForbidden.Code:           {http.StatusForbidden, "You may not do this.", "无权进行此操作。"},
	models.ErrUnauthenticated.Code:     {http.StatusUnauthorized, "Sign in first.", "请先登录。"},
	models.ErrInvalidCredentials.Code:  {http.StatusUnauthorized, "Wrong phone number or password.", "手机号或密码错误。"},
	models.ErrTokenReused.Code:         {http.StatusUnauthorized, "This sign-in has ended; sign in again.", "登录已失效，请重新登录。"},
	models.ErrRateLimited.Code:         {http.StatusTooManyRequests, "Too many attempts; try again later.", "尝试次数过多，请稍后再试。"},
	models.ErrConflict.Code:            {http.StatusConflict, "This conflicts with the current state.", "与当前状态冲突。"},
	models.ErrAlreadyExists.Code:       {http.StatusConflict, "It already exists.", "记录已存在。"},
	models.ErrInsufficientPoints.Code:  {http.StatusConflict, "Not enough points.", "积分不足。"},
	models.ErrInsufficientHours.Code:   {http.StatusConflict, "Not enough hours.", "时长不足。"},
	models.ErrIdempotencyKey.Code:      {http.StatusBadRequest, "An Idempotency-Key header is required.", "缺少 Idempotency-Key 请求头。"},
	models.ErrIdempotencyMismatch.Code: {http.StatusUnprocessableEntity, "This Idempotency-Key was used for another request.", "该 Idempotency-Key 已用于其他请求。"},
	models.ErrOutOfBounds.Code:         {http.StatusUnprocessableEntity, "The amount is outside the community's bounds.", "数额超出本社区规定范围。"},
	models.ErrImportRejected.Code:      {http.StatusUnprocessableEntity, "Some rows are wrong; nothing was imported.", "部分行有误，未导入任何数据。"},
	models.ErrBodyTooLarge.Code:        {http.StatusRequestEntityTooLarge, "The request body is too large.", "请求体过大。"},
	models.ErrUnsupportedMedia.Code:    {http.StatusUnsupportedMediaType, "Send application/json.", "请使用 application/json。"},
	models.ErrAlreadyReversed.Code:     {http.StatusConflict, "This entry has already been reversed.", "该记录已被冲正。"},
	models.ErrUnavailable.Code:         {http.StatusServiceUnavailable, "The service is not ready.", "服务暂不可用。"},
	models.ErrNotEligible.Code:         {http.StatusForbidden, "You are not eligible for this reward.", "不符合兑换条件。"},
	models.ErrRewardInactive.Code:      {http.StatusConflict, "This reward is not offered now.", "该兑换项目当前不可兑换。"},
	models.ErrSoldOut.Code:             {http.StatusConflict, "This reward is sold out.", "该兑换项目已兑完。"},
	models.ErrLimitReached.Code:        {http.StatusConflict, "You have reached the limit for this reward.", "已达到该项目的兑换上限。"},
	models.ErrAlreadyRedeemed.Code:     {http.StatusConflict, "This code has already been redeemed.", "该二维码已被核销。"},
	models.ErrTokenExpired.Code:        {http.StatusGone, "This code has expired; show a new one.", "二维码已过期，请刷新。"},
	models.ErrTokenInvalid.Code:        {http.StatusBadRequest, "This code is not valid.", "二维码无效。"},
	models.ErrRedemptionClosed.Code:    {http.StatusConflict, "This redemption is already closed.", "该兑换单已结束。"},
	models.ErrRefundWindowEnded.Code:   {http.StatusConflict, "The refund window has ended.", "已超过可退期限。"},
	models.ErrBaysFull.Code:            {http.StatusConflict, "No visitor bay is free that day.", "当日访客车位已约满。"},
	models.ErrNotFilialDay.Code:        {http.StatusConflict, "Filial-visit parking is free only on the community's visiting days (Saturday and Sunday unless the policy says otherwise).", "孝老停车仅限社区规定的探访日（默认周六、周日），该日不可预约。"},
	models.ErrVisitClosed.Code:         {http.StatusConflict, "This visit has begun or is over; it can no longer be cancelled.", "该探访已开始或已结束，不能再取消。"},
	models.ErrNominationOpen.Code:      {http.StatusConflict, "This resident or household already has an open nomination (in notice or listed).", "该居民或该户已有未结束的红榜提名（公示中或已上榜），不能重复提名。"},
	models.ErrActivityFull.Code:        {http.StatusConflict, "The activity is full.", "活动名额已满。"},
	models.ErrSignupClosed.Code:        {http.StatusConflict, "Sign-up for this activity is closed.", "该活动已停止报名或取消。"},
	models.ErrQRInvalid.Code:           {http.StatusUnprocessableEntity, "This QR code is not valid.", "二维码无效。"},
	models.ErrQRExpired.Code:           {http.StatusUnprocessableEntity, "This QR code has expired; scan the current one.", "二维码已过期，请扫描最新的二维码。"},
	models.ErrQRWrongActivity.Code:     {http.StatusUnprocessableEntity, "This QR code belongs to another activity.", "该二维码属于其他活动。"},
	models.ErrOutsideWindow.Code:       {http.StatusConflict, "Check-in is only possible during the activity.", "不在活动签到时间内。"},
	models.ErrAlreadyCheckedIn.Code:    {http.StatusConflict, "Already checked in.", "已签到。"},
	models.ErrNotCheckedIn.Code:        {http.StatusConflict, "Check in before checking out.", "尚未签到，无法签退。"},
	models.ErrAlreadyCheckedOut.Code:   {http.StatusConflict, "Already checked out.", "已签退。"},
	models.ErrRecordOverlap.Code:       {http.StatusConflict, "This overlaps another service record of the same resident.", "与该居民的其他服务记录时间重叠。"},
	models.ErrRecordDecided.Code:       {http.StatusConflict, "This service record has already been decided.", "该服务记录已审核。"},
	models.ErrAidState.Code:            {http.StatusConflict, "The mutual-aid request is not in a state that allows this.", "互助单当前状态不允许此操作。"},
	models.ErrFamilyNotVerified.Code:   {http.StatusUnprocessableEntity, "Hours may only be gifted to a verified family member.", "只能转赠给经核实的家庭成员。"},
	models.ErrGiftAge.Code:             {http.StatusUnprocessableEntity, "The relative is below the age for receiving gifted hours.", "受赠亲属未达到规定年龄。"},
	models.ErrGiftYearlyCap.Code:       {http.StatusUnprocessableEntity, "This gift is over the yearly gifting limit.", "超出年度转赠上限。"},
	models.ErrSelfCheckinOff.Code:      {http.StatusForbidden, "This activity does not allow self check-in; ask the organiser.", "该活动不支持自助签到，请联系组织者。"},
	models.ErrConsentRequired.Code:     {http.StatusForbidden, "Read and accept the privacy notice first.", "请先阅读并同意《个人信息保护告知书》。"},
	models.ErrConsentVersion.Code:      {http.StatusConflict, "This is not the privacy notice in force; read it again.", "该告知书不是现行版本，请重新阅读。"},
	models.ErrCategoryLocked.Code:      {http.StatusUnprocessableEntity, "Notifications about money and the honour roll cannot be turned off.", "涉及钱款和诚信红榜的通知不能关闭。"},
	"ROUTE_NOT_FOUND":                  {http.StatusNotFound, "No such endpoint.", "接口不存在。"},
	"METHOD_NOT_ALLOWED":               {http.StatusMethodNotAllowed, "Method not allowed.", "不支持该请求方法。"},
	"TIMEOUT":                          {http.StatusServiceUnavailable, "The request took too long.", "请求超时。"},
	"HEADERS_TOO_LARGE":                {http.StatusRequestHeaderFieldsTooLarge, "The request headers are too large.", "请求头过大。"},
	"BAD_REQUEST":                      {http.StatusBadRequest, "The request is malformed.", "请求格式错误。"},
	"INTERNAL":                         {http.StatusInternalServerError, "Something went wrong on our side.", "服务器内部错误。"},
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
