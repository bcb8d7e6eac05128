package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/privacy"
	"github.com/linli-community/linli/timebank"
)

// builtinNoticeZh and builtinNoticeEn are the privacy notice
// (个人信息保护告知书) used unless LINLI_PRIVACY_NOTICE_FILE names another.
const (
	builtinTitleZh  = "邻里个人信息保护告知书"
	builtinTitleEn  = "Linli privacy notice"
	builtinNoticeZh = `欢迎使用“邻里”。居委会依据《中华人民共和国个人信息保护法》处理您的个人信息，特此告知：

一、我们保存什么：姓名、手机号、出生年份、所在楼栋和户、家庭成员关系；志愿服务记录、时长和积分账目、兑换记录、诚信红榜记录和通知消息。

二、为什么保存：记录志愿服务时长，发放和兑换积分，与物业、停车和沿街商铺按月结算。

三、谁能看到：您本人；本社区的社工（每次查看您的资料都会记录，您可在“我的数据”中看到是谁、何时、看了什么）。合作商户只看到您的兑换单，看不到您的手机号。

四、保存多久：您搬离本社区后，账目按财务规定保存（默认 3 年），期满后姓名、手机号和出生信息将被删除或替换为化名，账目金额保持不变。

五、您的权利：随时在“我的数据”中下载您的全部个人信息，查看谁查看过您的资料；如需更正或删除，请到居委会办理。

点击“同意”即表示您已阅读并同意本告知书。告知书更新后，我们会再次请您确认。`
	builtinNoticeEn = `Welcome to Linli. The residents' committee processes your personal information under the Personal Information Protection Law of the PRC:

1. What we keep: your name, phone number, year of birth, building and household, family links; your volunteer service records, hours and points ledger, redemptions, honour-roll entries and notifications.

2. Why: to record volunteer hours, to award and redeem points, and to settle each month with the property company, the parking operator and the shops.

3. Who sees it: you, and the staff of your community (every time staff look at your data it is recorded; "My data" shows who, when and what). Shops see your redemptions, never your phone number.

4. How long: after you move away, ledger records are kept as financial rules require (3 years by default); then your name, phone and birth details are removed or replaced by a pseudonym, while the amounts stay.

5. Your rights: download everything kept about you and see who looked at it in "My data" at any time; for a correction or erasure, ask at the residents' committee.

Tapping "Accept" means you have read and accept this notice. When it changes we will ask you again.`
)

// noticeFile is the JSON a LINLI_PRIVACY_NOTICE_FILE holds.
type noticeFile struct {
	TitleZh string `json:"title_zh"`
	TextZh  string `json:"text_zh"`
	TitleEn string `json:"title_en"`
	TextEn  string `json:"text_en"`
}

// privacyNotice is the notice in force: the configured version, with the
// built-in text or the file's.
func privacyNotice(cfg Config) (models.PrivacyNotice, error) {
	n := models.PrivacyNotice{
		Version: cfg.PrivacyNoticeVersion,
		TitleZh: builtinTitleZh,
		TitleEn: builtinTitleEn,
		TextZh:  builtinNoticeZh,
		TextEn:  builtinNoticeEn,
	}
	if cfg.PrivacyNoticeFile == "" {
		return n, nil
	}
	data, err := os.ReadFile(cfg.PrivacyNoticeFile)
	if err != nil {
		return n, fmt.Errorf("privacy notice: %w", err)
	}
	var f noticeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return n, fmt.Errorf("privacy notice %s: %w", cfg.PrivacyNoticeFile, err)
	}
	if strings.TrimSpace(f.TitleZh) == "" || strings.TrimSpace(f.TextZh) == "" {
		return n, fmt.Errorf("privacy notice %s: title_zh and text_zh are required", cfg.PrivacyNoticeFile)
	}
	n.TitleZh, n.TextZh = f.TitleZh, f.TextZh
	if f.TitleEn != "" && f.TextEn != "" {
		n.TitleEn, n.TextEn = f.TitleEn, f.TextEn
	}
	return n, nil
}

// wirePrivacy builds the privacy service and puts the reads of residents'
// personal data that others make on their access log: the handlers get
// the directory, accounts and time bank wrapped so that each such read is
// recorded before it is answered (docs/ARCHITECTURE.md §11).
func (s *system) wirePrivacy() error {
	notice, err := privacyNotice(s.cfg)
	if err != nil {
		return err
	}
	s.privacy = privacy.New(privacy.Deps{
		Store:   s.store,
		People:  s.store,
		Sources: exportSources{s},
		Notice:  notice,
		Gate:    s.cfg.ConsentGate,
		NewID:   newID,
		Now:     s.now,
	})
	s.deps.Privacy = s.privacy
	s.deps.Community = watchedDirectory{s.communities, s.privacy}
	s.deps.Accounts = watchedAccounts{s.accounts, s.privacy}
	s.deps.Timebank = watchedTimebank{s.timebank, s.privacy}
	return nil
}

// watchedDirectory records the reads of another resident's record and
// of the residents list.
type watchedDirectory struct {
	*directory.Service
	watch *privacy.Service
}

// Resident is directory's, recorded on the resident's access log when
// the reader is someone else.
func (w watchedDirectory) Resident(ctx context.Context, p models.Principal, id string) (models.Resident, error) {
	r, err := w.Service.Resident(ctx, p, id)
	if err != nil {
		return r, err
	}
	if err := w.watch.RecordReads(ctx, p, models.AccessResidentDetail, "", r.ID); err != nil {
		return models.Resident{}, err
	}
	return r, nil
}

// ListResidents is directory's, each resident shown recorded on their
// access log.
func (w watchedDirectory) ListResidents(ctx context.Context, p models.Principal, householdID, cursor string, limit int) ([]models.Resident, string, error) {
	rs, next, err := w.Service.ListResidents(ctx, p, householdID, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	if err := w.recordListed(ctx, p, rs); err != nil {
		return nil, "", err
	}
	return rs, next, nil
}

// ResidentsWithRole is directory's, each resident shown recorded on their
// access log, as for the list.
func (w watchedDirectory) ResidentsWithRole(ctx context.Context, p models.Principal, q directory.ResidentQuery, after string, limit int) ([]models.Resident, error) {
	rs, err := w.Service.ResidentsWithRole(ctx, p, q, after, limit)
	if err != nil {
		return nil, err
	}
	return rs, w.recordListed(ctx, p, rs)
}

// ResidentsByID is directory's, each resident shown recorded on their
// access log, as for the list.
func (w watchedDirectory) ResidentsByID(ctx context.Context, p models.Principal, ids []string) ([]models.Resident, error) {
	rs, err := w.Service.ResidentsByID(ctx, p, ids)
	if err != nil {
		return nil, err
	}
	return rs, w.recordListed(ctx, p, rs)
}

// recordListed records on each of rs's access logs that p listed them.
func (w watchedDirectory) recordListed(ctx context.Context, p models.Principal, rs []models.Resident) error {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return w.watch.RecordReads(ctx, p, models.AccessResidentList, "", ids...)
}

// SearchResidents is directory's, each resident found recorded on their
// access log, as for the list.
func (w watchedDirectory) SearchResidents(ctx context.Context, p models.Principal, q, cursor string, limit int) ([]models.Resident, string, error) {
	rs, next, err := w.Service.SearchResidents(ctx, p, q, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	if err := w.recordListed(ctx, p, rs); err != nil {
		return nil, "", err
	}
	return rs, next, nil
}

// watchedAccounts records the reads of another resident's balances and
// ledger.
type watchedAccounts struct {
	*accounts.Service
	watch *privacy.Service
}

// Balances is accounts', recorded when the reader is someone else.
func (w watchedAccounts) Balances(ctx context.Context, p models.Principal, residentID string) (accounts.Balances, error) {
	b, err := w.Service.Balances(ctx, p, residentID)
	if err != nil {
		return b, err
	}
	if err := w.watch.RecordReads(ctx, p, models.AccessBalances, "", residentID); err != nil {
		return accounts.Balances{}, err
	}
	return b, nil
}

// History is accounts', recorded (with the asset) when the reader is
// someone else.
func (w watchedAccounts) History(ctx context.Context, p models.Principal, residentID string, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error) {
	es, next, err := w.Service.History(ctx, p, residentID, asset, before, limit)
	if err != nil {
		return es, next, err
	}
	if err := w.watch.RecordReads(ctx, p, models.AccessLedger, string(asset), residentID); err != nil {
		return nil, 0, err
	}
	return es, next, nil
}

// watchedTimebank records the reads of another resident's certificate.
type watchedTimebank struct {
	*timebank.Service
	watch *privacy.Service
}

// Certificate is the time bank's, recorded when the reader is someone
// else.
func (w watchedTimebank) Certificate(ctx context.Context, p models.Principal, residentID string, from, to time.Time) (timebank.Certificate, error) {
	c, err := w.Service.Certificate(ctx, p, residentID, from, to)
	if err != nil {
		return c, err
	}
	if err := w.watch.RecordReads(ctx, p, models.AccessCertificate, "", residentID); err != nil {
		return timebank.Certificate{}, err
	}
	return c, nil
}

// exportSources reads an export's parts from the capabilities as each
// shows them to the resident themself.
type exportSources struct{ sys *system }

// owner is r as the reader of their own data.
func owner(r models.Resident) models.Principal {
	return models.Principal{
		ResidentID:  r.ID,
		CommunityID: r.CommunityID,
		Roles:       r.Roles,
	}
}

// Household returns the household with id.
func (x exportSources) Household(ctx context.Context, id string) (models.Household, error) {
	return x.sys.store.Household(ctx, id)
}

// ServiceRecords returns a page of r's service records as r sees them, and the cursor of
// the next.
func (x exportSources) ServiceRecords(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	return x.sys.timebank.MyRecords(ctx, owner(r), cursor, limit)
}

// Entries returns a page of r's ledger entries of asset older than before, and the cursor
// of the next.
func (x exportSources) Entries(ctx context.Context, r models.Resident, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error) {
	return x.sys.accounts.History(ctx, owner(r), r.ID, asset, before, limit)
}

// Redemptions returns a page of r's redemptions as r sees them, and the cursor of the
// next.
func (x exportSources) Redemptions(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.Redemption, string, error) {
	return x.sys.rewards.MyRedemptions(ctx, owner(r), cursor, limit)
}

// HonourEntries returns the honour-roll entries naming r or r's household.
func (x exportSources) HonourEntries(ctx context.Context, r models.Resident) ([]models.HonourEntry, error) {
	return x.sys.honour.MyEntries(ctx, owner(r))
}

// Notifications returns a page of r's notifications, and the cursor of the next.
func (x exportSources) Notifications(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.Notification, string, error) {
	page, err := x.sys.inbox.List(ctx, owner(r), cursor, limit)
	return page.Notifications, page.Next, err
}
