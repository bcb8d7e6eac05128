package inbox

import (
	"strings"

	"github.com/linli-community/linli/models"
)

// text is a kind's title and body in one language; {name} is replaced by
// the notice's argument of that name.
type text struct{ title, body string }

// texts holds each kind's words, Chinese first. The arguments a kind
// uses are the ones its callers fill (models.Notice.Args).
var texts = map[models.NoticeKind][2]text{
	models.NoticeHoursApproved: {
		{"志愿时长已通过", "您在“{activity}”的 {minutes} 分钟志愿服务已审核通过，获得 {points} 积分。"},
		{"Volunteer hours approved", "Your {minutes} minutes at “{activity}” were approved; you earned {points} points."},
	},
	models.NoticeHoursRejected: {
		{"志愿时长未通过", "您在“{activity}”的服务记录未通过审核：{reason}"},
		{"Volunteer hours not approved", "Your service record at “{activity}” was not approved: {reason}"},
	},
	models.NoticeHoursCorrected: {
		{"志愿时长已更正", "您在“{activity}”的服务记录已更正为 {minutes} 分钟：{reason}"},
		{"Volunteer hours corrected", "Your service record at “{activity}” was corrected to {minutes} minutes: {reason}"},
	},
	models.NoticeCorrectionAnswered: {
		{"更正申请已处理", "您对“{activity}”服务记录的更正申请已{decision}，记录现为 {minutes} 分钟。{reason}"},
		{"Correction request answered", "Your correction request for “{activity}” was answered ({decision}); the record now stands at {minutes} minutes. {reason}"},
	},
	models.NoticePointsAwarded: {
		{"获得积分", "社区为您发放 {points} 积分：{reason}"},
		{"Points awarded", "Staff awarded you {points} points: {reason}"},
	},
	models.NoticePointsReversed: {
		{"积分已冲正", "您的 {points} 积分已被冲正：{reason}"},
		{"Points reversed", "{points} of your points were reversed: {reason}"},
	},
	models.NoticePointsExpiring30: {
		{"积分即将过期", "您有 {points} 积分的有效期至 {date}，请在此之前使用。"},
		{"Points expire soon", "{points} of your points can be used until {date}; after that they expire."},
	},
	models.NoticePointsExpiring7: {
		{"积分 7 天内过期", "提醒：您有 {points} 积分的有效期至 {date}，过后将过期。"},
		{"Points expire within 7 days", "Reminder: {points} of your points can be used until {date}; after that they expire."},
	},
	models.NoticeRedemptionDone: {
		{"兑换已完成", "您兑换的“{reward}”已核销，使用 {points} 积分。"},
		{"Redemption fulfilled", "Your redemption of “{reward}” was fulfilled for {points} points."},
	},
	models.NoticeRedemptionRefunded: {
		{"兑换已退回", "您兑换的“{reward}”已退回，{points} 积分已返还。"},
		{"Redemption refunded", "Your redemption of “{reward}” was refunded; {points} points are back."},
	},
	models.NoticeRedemptionExpired: {
		{"兑换已过期", "您兑换的“{reward}”未在期限内使用，{points} 积分已返还。"},
		{"Redemption expired", "Your redemption of “{reward}” was not used in time; {points} points are back."},
	},
	models.NoticeNominated: {
		{"您被提名诚信红榜", "您已被提名社区诚信红榜：{reason}。公示期至 {date}。"},
		{"Nominated for the honour roll", "You were nominated for the community honour roll: {reason}. It is on public notice until {date}."},
	},
	models.NoticeNoticeStarted: {
		{"红榜公示开始", "您的红榜提名已进入公示期，至 {date} 结束。"},
		{"Public notice started", "Your honour-roll nomination is on public notice until {date}."},
	},
	models.NoticeObjectionFiled: {
		{"有人对您的提名提出异议", "有居民对您的红榜提名提出异议：{reason}。社工将核实处理。"},
		{"An objection to your nomination", "A resident objected to your honour-roll nomination: {reason}. Staff will look into it."},
	},
	models.NoticeListed: {
		{"您已登上诚信红榜", "恭喜！您已登上社区诚信红榜，获得 {points} 积分。"},
		{"You are on the honour roll", "Congratulations: you are on the community honour roll and earned {points} points."},
	},
	models.NoticeRevoked: {
		{"红榜资格已撤销", "您的红榜资格已撤销：{reason}"},
		{"Honour-roll listing revoked", "Your honour-roll listing was revoked: {reason}"},
	},
	models.NoticeDutyToConfirm: {
		{"有履职记录待确认", "{name} {month} 的履职记录“{duty}”待您确认。"},
		{"A duty to confirm", "{name}'s duty “{duty}” for {month} is waiting for your confirmation."},
	},
	models.NoticeFamilyLinked: {
		{"家庭关系已关联", "您与 {name} 的家庭关系已核实关联。"},
		{"Family link verified", "Your family link with {name} was verified."},
	},
	models.NoticeGiftReceived: {
		{"收到转赠时长", "{name} 向您转赠了 {minutes} 分钟志愿时长。"},
		{"Hours received", "{name} gave you {minutes} minutes of volunteer hours."},
	},
	models.NoticeStatementReady: {
		{"结算单已生成", "{month} 月结算单已生成，合计 {amount} 元，请核对确认。"},
		{"Statement ready", "The statement for {month} is ready: {amount} yuan in total. Please check and confirm it."},
	},
	models.NoticeStatementConfirmed: {
		{"结算单已确认", "{partner} 已确认 {month} 月结算单。"},
		{"Statement confirmed", "{partner} confirmed the statement for {month}."},
	},
	models.NoticeStatementPaid: {
		{"结算款已支付", "{month} 月结算单（{amount} 元）已支付。"},
		{"Statement paid", "The statement for {month} ({amount} yuan) was paid."},
	},
	models.NoticeJobFailed: {
		{"定时任务失败", "定时任务 {job}（{period}）运行失败，请查看运行记录。"},
		{"A scheduled job failed", "The job {job} ({period}) failed; see its run record."},
	},
}

// render returns the title and body of n in lang. An argument the text
// names but the notice lacks shows as empty.
func render(n models.Notice, lang models.Language) (string, string) {
	pair, ok := texts[n.Kind]
	if !ok {
		return string(n.Kind), ""
	}
	t := pair[0]
	if lang == models.LangEn {
		t = pair[1]
	}
	fill := func(s string) string {
		var b strings.Builder
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				b.WriteString(s)
				return strings.TrimSpace(b.String())
			}
			end := strings.IndexByte(s[open:], '}')
			if end < 0 {
				b.WriteString(s)
				return strings.TrimSpace(b.String())
			}
			b.WriteString(s[:open])
			b.WriteString(n.Args[s[open+1:open+end]])
			s = s[open+end+1:]
		}
	}
	return fill(t.title), fill(t.body)
}
