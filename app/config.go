package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/store"
)

// Secret is a config value that is never logged.
type Secret string

// LogValue masks the secret in structured logs.
func (s Secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("****")
}

// Config is every setting, read once from the environment. .env.example
// documents each variable: meaning, type and default.
type Config struct {
	Addr       string `env:"LINLI_ADDR" envDefault:"127.0.0.1:8080"`
	DataDir    string `env:"LINLI_DATA_DIR" envDefault:"./data"`
	MongoURI   Secret `env:"MONGODB_URI"`
	DB         string `env:"LINLI_DB" envDefault:"linli"`
	SeedDemo   string `env:"SEED_DEMO"` // "", "true" or "false"
	SQLiteSync string `env:"LINLI_SQLITE_SYNC" envDefault:"full"`
	// GroupCommit gathers concurrent requests' inserts into one collection
	// into one insertMany of at most GroupCommitBatch documents, held back
	// at most GroupCommitWindow once two or more are waiting (store.GroupCommit).
	GroupCommit       string        `env:"LINLI_GROUP_COMMIT" envDefault:"on"`
	GroupCommitBatch  int           `env:"LINLI_GROUP_COMMIT_BATCH" envDefault:"64"`
	GroupCommitWindow time.Duration `env:"LINLI_GROUP_COMMIT_WINDOW" envDefault:"0s"`
	JWTKeys           Secret        `env:"LINLI_JWT_KEYS"`
	JWTActiveKID      string        `env:"LINLI_JWT_ACTIVE_KID"`
	JWTIssuer         string        `env:"LINLI_JWT_ISSUER" envDefault:"linli"`
	// DataKeys seal residents' phone, ID number and birth year
	// ("id1:base64key,id0:base64oldkey", the first seals); IndexKey
	// (base64, 32 bytes) makes the blind index a login is found by. On the
	// embedded store with neither set, both are kept in the data folder
	// (docs/ARCHITECTURE.md §11).
	DataKeys       Secret        `env:"LINLI_DATA_KEYS"`
	IndexKey       Secret        `env:"LINLI_INDEX_KEY"`
	JWTAudience    string        `env:"LINLI_JWT_AUDIENCE" envDefault:"linli-api"`
	AccessTTL      time.Duration `env:"LINLI_ACCESS_TTL" envDefault:"15m"`
	RefreshTTL     time.Duration `env:"LINLI_REFRESH_TTL" envDefault:"720h"`
	SessionCache   time.Duration `env:"LINLI_SESSION_CACHE" envDefault:"5s"`
	LoginPerPhone  int           `env:"LINLI_LOGIN_PER_PHONE" envDefault:"5"` // per 15 minutes
	LoginPerAddr   int           `env:"LINLI_LOGIN_PER_ADDR" envDefault:"20"` // per minute
	QRPerMinute    int           `env:"LINLI_QR_PER_MINUTE" envDefault:"10"`  // per resident
	RequestTimeout time.Duration `env:"LINLI_REQUEST_TIMEOUT" envDefault:"10s"`
	BodyLimit      int           `env:"LINLI_BODY_LIMIT" envDefault:"1048576"`
	TimeZone       string        `env:"LINLI_TIME_ZONE" envDefault:"Asia/Shanghai"`
	Scheduler      bool          `env:"LINLI_SCHEDULER" envDefault:"true"`
	LeaseTTL       time.Duration `env:"LINLI_JOB_LEASE_TTL" envDefault:"30m"`
	// BackupDir holds `linli backup`'s folders and the nightly backups;
	// BackupKeepDays is how many days of nightly backups are kept (0: no
	// nightly backup). Embedded store only (docs/ARCHITECTURE.md §10).
	BackupDir      string `env:"LINLI_BACKUP_DIR" envDefault:"./backups"`
	BackupKeepDays int    `env:"LINLI_BACKUP_KEEP_DAYS" envDefault:"7"`
	// ClockStart, when set, is what the service's clock reads as the
	// process starts; it runs on in real time from there. For drills and
	// the crash harness (settling a month without waiting for it to end).
	ClockStart time.Time `env:"LINLI_CLOCK_START"`
	// The privacy notice residents accept and whether the API waits for
	// it (docs/ARCHITECTURE.md §11).
	PrivacyNoticeVersion string `env:"LINLI_PRIVACY_NOTICE_VERSION" envDefault:"2026-12"`
	PrivacyNoticeFile    string `env:"LINLI_PRIVACY_NOTICE_FILE"`
	ConsentGate          bool   `env:"LINLI_CONSENT_GATE" envDefault:"true"`
	LogLevel             string `env:"LINLI_LOG_LEVEL" envDefault:"info"`
	// AuditProgressEvery is how many entries `linli audit` checks between
	// the lines it writes to stderr saying how far it got (0: none).
	AuditProgressEvery int `env:"LINLI_AUDIT_PROGRESS_EVERY" envDefault:"100000"`
	// CPUProfile, when set, is a file every command (serve, audit, jobs
	// run, …) writes a CPU profile of its whole run to (for `go tool
	// pprof`; benchmarks).
	CPUProfile string `env:"LINLI_CPU_PROFILE"`
	LogFormat  string `env:"LINLI_LOG_FORMAT" envDefault:"json"`
	Notify     NotifyConfig
	// passwordCost is the Argon2id cost of new password hashes. It is not
	// read from the environment: a deployment always hashes at
	// auth.DefaultPasswordParams (its zero value). The tests set a cheap
	// cost, since under the race detector each 19 MiB hash takes most of
	// a second of CPU and every test world hashes its demo residents'
	// passwords; a hash records its own cost, so checking is unchanged.
	passwordCost auth.PasswordParams
}

// NotifyConfig is how notifications go out (packages inbox and outbound).
type NotifyConfig struct {
	Senders          string        `env:"LINLI_NOTIFY_SENDERS" envDefault:"log"` // comma-separated: log, webhook
	WebhookURL       string        `env:"LINLI_WEBHOOK_URL"`
	WebhookKeys      Secret        `env:"LINLI_WEBHOOK_KEYS"`
	WebhookActiveKID string        `env:"LINLI_WEBHOOK_ACTIVE_KID"`
	WebhookTimeout   time.Duration `env:"LINLI_WEBHOOK_TIMEOUT" envDefault:"5s"`
	MaxAttempts      int           `env:"LINLI_DELIVERY_MAX_ATTEMPTS" envDefault:"8"`
	Backoff          time.Duration `env:"LINLI_DELIVERY_BACKOFF" envDefault:"30s"`
	Interval         time.Duration `env:"LINLI_DELIVERY_INTERVAL" envDefault:"5s"`
	Workers          int           `env:"LINLI_DELIVERY_WORKERS" envDefault:"4"`
	QuietHours       string        `env:"LINLI_QUIET_HOURS" envDefault:"22:00-08:00"`
}

// loadConfig reads the config from environ (KEY=VALUE pairs).
func loadConfig(environ []string) (Config, error) {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: m}); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	switch {
	case c.SeedDemo != "" && c.SeedDemo != "true" && c.SeedDemo != "false":
		return c, fmt.Errorf("config: SEED_DEMO must be true or false")
	case c.SQLiteSync != "full" && c.SQLiteSync != "normal":
		return c, fmt.Errorf("config: LINLI_SQLITE_SYNC must be full or normal")
	case c.GroupCommit != "on" && c.GroupCommit != "off":
		return c, fmt.Errorf("config: LINLI_GROUP_COMMIT must be on or off")
	case c.GroupCommitBatch < 1 || c.GroupCommitBatch > 1000:
		return c, fmt.Errorf("config: LINLI_GROUP_COMMIT_BATCH must be between 1 and 1000")
	case c.GroupCommitWindow < 0 || c.GroupCommitWindow > 100*time.Millisecond:
		return c, fmt.Errorf("config: LINLI_GROUP_COMMIT_WINDOW must be between 0 and 100ms")
	case c.AccessTTL <= 0 || c.AccessTTL > time.Hour:
		return c, fmt.Errorf("config: LINLI_ACCESS_TTL must be between 0 and 1h")
	case c.RefreshTTL <= 0:
		return c, fmt.Errorf("config: LINLI_REFRESH_TTL must be positive")
	case c.SessionCache < 0 || c.SessionCache > time.Minute:
		return c, fmt.Errorf("config: LINLI_SESSION_CACHE must be between 0 and 1m")
	case c.BodyLimit < 1024:
		return c, fmt.Errorf("config: LINLI_BODY_LIMIT must be at least 1024")
	case strings.TrimSpace(c.PrivacyNoticeVersion) == "" || len(c.PrivacyNoticeVersion) > 40 || strings.ContainsAny(c.PrivacyNoticeVersion, ": /"):
		return c, fmt.Errorf("config: LINLI_PRIVACY_NOTICE_VERSION must be 1-40 characters without spaces, colons or slashes")
	case c.BackupKeepDays < 0:
		return c, fmt.Errorf("config: LINLI_BACKUP_KEEP_DAYS must be 0 (no nightly backup) or more")
	case c.LoginPerPhone < 1 || c.LoginPerAddr < 1 || c.QRPerMinute < 1:
		return c, fmt.Errorf("config: login and QR limits must be at least 1")
	case !c.ClockStart.IsZero() && c.Scheduler:
		// The cron library fires on the real clock: with a shifted clock
		// the jobs would run at real times for shifted periods.
		return c, fmt.Errorf("config: LINLI_CLOCK_START needs LINLI_SCHEDULER=false")
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return c, fmt.Errorf("config: LINLI_TIME_ZONE: %w", err)
	}
	if err := c.Notify.check(); err != nil {
		return c, err
	}
	return c, nil
}

// clock is the service's clock: the real one, or one that starts at
// ClockStart when the process starts and runs on from there.
func (c Config) clock() func() time.Time {
	if c.ClockStart.IsZero() {
		return time.Now
	}
	t0 := time.Now()
	return func() time.Time { return c.ClockStart.Add(time.Since(t0)) }
}

// groupCommit is the store's group-commit setting from the config.
func (c Config) groupCommit() store.GroupCommit {
	return store.GroupCommit{
		Off:      c.GroupCommit == "off",
		MaxBatch: c.GroupCommitBatch,
		Window:   c.GroupCommitWindow,
	}
}

// embedded reports whether the service runs its own embedded store.
func (c Config) embedded() bool { return c.MongoURI == "" }

// seedDemo reports whether an empty store gets the demo community: by
// default only the embedded store does; a MongoDB only when asked.
func (c Config) seedDemo() bool {
	if c.SeedDemo == "" {
		return c.embedded()
	}
	return c.SeedDemo == "true"
}
