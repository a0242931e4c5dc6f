// Package config loads and validates coordbot's TOML configuration
// (DESIGN §9). Errors name the key and the problem.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	Bot          Bot           `toml:"bot"`
	IMAP         IMAP          `toml:"imap"`
	SMTP         SMTP          `toml:"smtp"`
	PGP          PGP           `toml:"pgp"`
	Coordinators []Coordinator `toml:"coordinator"`
	Priority     []Priority    `toml:"priority"`
	Policy       Policy        `toml:"policy"`
	Limits       Limits        `toml:"limits"`
	Admin        Admin         `toml:"admin"`
	Log          Log           `toml:"log"`

	// Path is the file the config was read from; relative paths in it are
	// resolved against its folder.
	Path string `toml:"-"`
	loc  *time.Location
}

// Bot is the robot's identity.
type Bot struct {
	Address      string `toml:"address"`
	Name         string `toml:"name"`
	DataDir      string `toml:"data_dir"`
	Timezone     string `toml:"timezone"`
	CaseIDPrefix string `toml:"case_id_prefix"`
	Language     string `toml:"language"`
	// TemplateDir overrides the embedded notice templates when set.
	TemplateDir string `toml:"template_dir"`
}

// IMAP is the mailbox the robot reads.
type IMAP struct {
	Address           string   `toml:"address"`
	Security          string   `toml:"security"`
	Username          string   `toml:"username"`
	PasswordFile      string   `toml:"password_file"`
	PasswordEnv       string   `toml:"password_env"`
	Auth              string   `toml:"auth"`
	TokenFile         string   `toml:"token_file"`
	TokenCommand      string   `toml:"token_command"`
	CAFile            string   `toml:"ca_file"`
	Mailbox           string   `toml:"mailbox"`
	ProcessedMailbox  string   `toml:"processed_mailbox"`
	QuarantineMailbox string   `toml:"quarantine_mailbox"`
	PollInterval      Duration `toml:"poll_interval"`
}

// SMTP is the server notices are submitted to.
type SMTP struct {
	Address      string `toml:"address"`
	Security     string `toml:"security"`
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	Auth         string `toml:"auth"`
	TokenFile    string `toml:"token_file"`
	TokenCommand string `toml:"token_command"`
	CAFile       string `toml:"ca_file"`
	SentMailbox  string `toml:"sent_mailbox"`
	HelloName    string `toml:"hello_name"`
	// Connections is how many SMTP sessions send in parallel.
	Connections int `toml:"connections"`
}

// PGP configures the robot key and the crypto policy.
type PGP struct {
	KeyFile                    string   `toml:"key_file"`
	PassphraseEnv              string   `toml:"passphrase_env"`
	PassphraseFile             string   `toml:"passphrase_file"`
	RequireEncryptedDetail     *bool    `toml:"require_encrypted_detail"`
	RequireSignedVendorAnswers bool     `toml:"require_signed_vendor_answers"`
	CommandSignatureMaxAge     Duration `toml:"command_signature_max_age"`
}

// EncryptedDetail reports require_encrypted_detail (default true).
func (p PGP) EncryptedDetail() bool {
	return p.RequireEncryptedDetail == nil || *p.RequireEncryptedDetail
}

// Coordinator is a person allowed to drive the robot.
type Coordinator struct {
	Address     string `toml:"address"`
	Fingerprint string `toml:"fingerprint"`
	KeyFile     string `toml:"key_file"`
}

// Priority is a critical-infrastructure operator that gets the early
// notice before publication (§4-4), always encrypted.
type Priority struct {
	Name    string `toml:"name"`
	Address string `toml:"address"`
	KeyFile string `toml:"key_file"`
}

// Policy holds the guideline's periods.
type Policy struct {
	PublicationDays        int      `toml:"publication_days"`
	FirstReminder          Duration `toml:"first_reminder"`
	ReminderEvery          Duration `toml:"reminder_every"`
	UnreachableAfterMonths int      `toml:"unreachable_after_months"`
	StageMonths            int      `toml:"stage_months"`
	AutoSendDetail         *bool    `toml:"auto_send_detail"`
}

// AutoDetail reports auto_send_detail (default true).
func (p Policy) AutoDetail() bool { return p.AutoSendDetail == nil || *p.AutoSendDetail }

// Limits bound what an inbound message may cost.
type Limits struct {
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	MaxMIMEDepth    int   `toml:"max_mime_depth"`
	MaxMIMEParts    int   `toml:"max_mime_parts"`
	// MaxAttachmentBytes: larger attachments are counted, not read into
	// memory (the raw message keeps them).
	MaxAttachmentBytes int64 `toml:"max_attachment_bytes"`
	// MaxAnswersPerHour caps notices to one sender address (loop protection).
	MaxAnswersPerHour int `toml:"max_answers_per_hour"`
}

// Admin is the local admin endpoint.
type Admin struct {
	Listen string `toml:"listen"`
	Socket string `toml:"socket"`
	// MaxOutboxAge: /healthz turns unhealthy when a notice waits longer.
	MaxOutboxAge Duration `toml:"max_outbox_age"`
	// MaxPollSilence: /healthz turns unhealthy without a mailbox pass for this long.
	MaxPollSilence Duration `toml:"max_poll_silence"`
}

// Log sets the log output.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"` // auto | text | json
}

// Duration is a time.Duration written as "168h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"168h\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DefaultPath is used when neither --config nor COORDBOT_CONFIG is given.
const DefaultPath = "configs/coordbot.toml"

// Load reads, defaults and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a configuration from data; path resolves relative paths.
func Parse(data []byte, path string) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("config %s: %s: unknown key", path, und[0])
	}
	c.Path = path
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// Defaults fills what the file left out.
func (c *Config) Defaults() {
	base := "."
	if c.Path != "" {
		base = filepath.Dir(c.Path)
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Bot.DataDir, "/var/lib/coordbot")
	c.Bot.DataDir = abs(c.Bot.DataDir)
	def(&c.Bot.Timezone, "Asia/Tokyo")
	def(&c.Bot.CaseIDPrefix, "JVNVU#")
	def(&c.Bot.Language, "ja")
	def(&c.Bot.Name, "coordbot")
	c.Bot.TemplateDir = abs(c.Bot.TemplateDir)
	def(&c.IMAP.Security, "tls")
	def(&c.IMAP.Mailbox, "INBOX")
	def(&c.IMAP.ProcessedMailbox, "Processed")
	def(&c.IMAP.QuarantineMailbox, "Quarantine")
	def(&c.IMAP.Username, c.Bot.Address)
	if c.IMAP.PollInterval.Duration == 0 {
		c.IMAP.PollInterval.Duration = time.Minute
	}
	c.IMAP.PasswordFile = abs(c.IMAP.PasswordFile)
	c.IMAP.TokenFile, c.IMAP.CAFile = abs(c.IMAP.TokenFile), abs(c.IMAP.CAFile)
	c.SMTP.TokenFile, c.SMTP.CAFile = abs(c.SMTP.TokenFile), abs(c.SMTP.CAFile)
	def(&c.SMTP.Security, "starttls")
	if c.SMTP.Connections == 0 {
		c.SMTP.Connections = 4
	}
	c.SMTP.PasswordFile = abs(c.SMTP.PasswordFile)
	def(&c.PGP.KeyFile, filepath.Join(c.Bot.DataDir, "robot.asc"))
	c.PGP.KeyFile = abs(c.PGP.KeyFile)
	c.PGP.PassphraseFile = abs(c.PGP.PassphraseFile)
	if c.PGP.CommandSignatureMaxAge.Duration == 0 {
		c.PGP.CommandSignatureMaxAge.Duration = 168 * time.Hour
	}
	for i := range c.Coordinators {
		c.Coordinators[i].KeyFile = abs(c.Coordinators[i].KeyFile)
		c.Coordinators[i].Address = strings.ToLower(c.Coordinators[i].Address)
		c.Coordinators[i].Fingerprint = strings.ToUpper(strings.ReplaceAll(c.Coordinators[i].Fingerprint, " ", ""))
	}
	for i := range c.Priority {
		c.Priority[i].KeyFile = abs(c.Priority[i].KeyFile)
		c.Priority[i].Address = strings.ToLower(c.Priority[i].Address)
	}
	if c.Policy.PublicationDays == 0 {
		c.Policy.PublicationDays = 45
	}
	if c.Policy.FirstReminder.Duration == 0 {
		c.Policy.FirstReminder.Duration = 168 * time.Hour
	}
	if c.Policy.ReminderEvery.Duration == 0 {
		c.Policy.ReminderEvery.Duration = 336 * time.Hour
	}
	if c.Policy.UnreachableAfterMonths == 0 {
		c.Policy.UnreachableAfterMonths = 3
	}
	if c.Policy.StageMonths == 0 {
		c.Policy.StageMonths = 3
	}
	if c.Limits.MaxMessageBytes == 0 {
		c.Limits.MaxMessageBytes = 32 << 20
	}
	if c.Limits.MaxMIMEDepth == 0 {
		c.Limits.MaxMIMEDepth = 16
	}
	if c.Limits.MaxAttachmentBytes == 0 {
		c.Limits.MaxAttachmentBytes = 8 << 20
	}
	if c.Limits.MaxMIMEParts == 0 {
		c.Limits.MaxMIMEParts = 256
	}
	if c.Limits.MaxAnswersPerHour == 0 {
		c.Limits.MaxAnswersPerHour = 30
	}
	def(&c.Admin.Socket, filepath.Join(c.Bot.DataDir, "admin.sock"))
	if c.Admin.MaxOutboxAge.Duration == 0 {
		c.Admin.MaxOutboxAge.Duration = time.Hour
	}
	if c.Admin.MaxPollSilence.Duration == 0 {
		c.Admin.MaxPollSilence.Duration = 15 * time.Minute
	}
	c.Admin.Socket = abs(c.Admin.Socket)
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "auto")
}

func oneOf(key, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", key, v, strings.Join(allowed, ", "))
}

// Validate checks every key; the first problem is returned, naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.Bot.Address == "" {
		add(errors.New("bot.address: missing"))
	} else if _, err := mail.ParseAddress(c.Bot.Address); err != nil {
		add(fmt.Errorf("bot.address: %q is not a mail address", c.Bot.Address))
	}
	loc, err := time.LoadLocation(c.Bot.Timezone)
	if err != nil {
		add(fmt.Errorf("bot.timezone: %q is not a time zone (e.g. Asia/Tokyo)", c.Bot.Timezone))
	}
	c.loc = loc
	if strings.ContainsAny(c.Bot.CaseIDPrefix, " \t\r\n[]") || c.Bot.CaseIDPrefix == "" {
		add(fmt.Errorf("bot.case_id_prefix: %q must be non-empty without spaces or brackets", c.Bot.CaseIDPrefix))
	}
	add(oneOf("bot.language", c.Bot.Language, "ja", "en"))
	add(oneOf("imap.security", c.IMAP.Security, "tls", "starttls", "none"))
	add(oneOf("smtp.security", c.SMTP.Security, "tls", "starttls", "none"))
	add(checkAddr("imap.address", c.IMAP.Address, c.IMAP.Security))
	add(checkAddr("smtp.address", c.SMTP.Address, c.SMTP.Security))
	if c.SMTP.Connections < 1 || c.SMTP.Connections > 64 {
		add(fmt.Errorf("smtp.connections: %d must be between 1 and 64", c.SMTP.Connections))
	}
	for _, a := range []struct{ key, auth, file, cmd string }{
		{"imap", c.IMAP.Auth, c.IMAP.TokenFile, c.IMAP.TokenCommand}, {"smtp", c.SMTP.Auth, c.SMTP.TokenFile, c.SMTP.TokenCommand},
	} {
		if a.auth != "" {
			add(oneOf(a.key+".auth", a.auth, "plain", "login", "xoauth2"))
		}
		if a.auth == "xoauth2" && (a.file == "") == (a.cmd == "") {
			add(fmt.Errorf("%s: auth \"xoauth2\" needs exactly one of token_file or token_command", a.key))
		}
	}
	if c.IMAP.PasswordFile != "" && c.IMAP.PasswordEnv != "" {
		add(errors.New("imap: set password_file or password_env, not both"))
	}
	if c.SMTP.PasswordFile != "" && c.SMTP.PasswordEnv != "" {
		add(errors.New("smtp: set password_file or password_env, not both"))
	}
	for _, mb := range []struct{ key, v string }{
		{"imap.mailbox", c.IMAP.Mailbox}, {"imap.processed_mailbox", c.IMAP.ProcessedMailbox},
		{"imap.quarantine_mailbox", c.IMAP.QuarantineMailbox},
	} {
		if strings.TrimSpace(mb.v) == "" {
			add(fmt.Errorf("%s: empty", mb.key))
		}
	}
	if c.IMAP.ProcessedMailbox == c.IMAP.Mailbox || c.IMAP.QuarantineMailbox == c.IMAP.Mailbox {
		add(errors.New("imap.processed_mailbox and imap.quarantine_mailbox must differ from imap.mailbox"))
	}
	for i, co := range c.Coordinators {
		key := fmt.Sprintf("coordinator[%d]", i)
		if _, err := mail.ParseAddress(co.Address); err != nil || co.Address == "" {
			add(fmt.Errorf("%s.address: %q is not a mail address", key, co.Address))
		}
		if co.Fingerprint != "" && !isHex(co.Fingerprint, 40) && !isHex(co.Fingerprint, 64) {
			add(fmt.Errorf("%s.fingerprint: %q is not a 40 or 64 hex digit OpenPGP fingerprint", key, co.Fingerprint))
		}
	}
	for i, p := range c.Priority {
		if _, err := mail.ParseAddress(p.Address); err != nil || p.Address == "" {
			add(fmt.Errorf("priority[%d].address: %q is not a mail address", i, p.Address))
		}
		if p.KeyFile == "" {
			add(fmt.Errorf("priority[%d].key_file: missing: the early notice is only ever sent encrypted", i))
		}
	}
	if c.Policy.PublicationDays < 1 {
		add(fmt.Errorf("policy.publication_days: %d must be at least 1", c.Policy.PublicationDays))
	}
	if c.Policy.UnreachableAfterMonths < 1 || c.Policy.StageMonths < 1 {
		add(errors.New("policy.unreachable_after_months and policy.stage_months must be at least 1"))
	}
	if c.Limits.MaxMessageBytes < 1<<16 {
		add(fmt.Errorf("limits.max_message_bytes: %d is below 65536", c.Limits.MaxMessageBytes))
	}
	add(oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error"))
	add(oneOf("log.format", c.Log.Format, "auto", "text", "json"))
	return errors.Join(errs...)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return false
		}
	}
	return true
}

// checkAddr validates host:port and refuses plaintext off loopback.
func checkAddr(key, addr, security string) error {
	if addr == "" {
		return fmt.Errorf("%s: missing", key)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("%s: %q is not host:port", key, addr)
	}
	if security == "none" && !IsLoopback(host) {
		return fmt.Errorf("%s: security \"none\" is allowed on a loopback address only, not %q", key, host)
	}
	return nil
}

// IsLoopback tells whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Location is bot.timezone.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		c.loc, _ = time.LoadLocation(c.Bot.Timezone)
		if c.loc == nil {
			c.loc = time.UTC
		}
	}
	return c.loc
}

// StorePath is the bbolt file.
func (c *Config) StorePath() string { return filepath.Join(c.Bot.DataDir, "coordbot.db") }

// Coordinator returns the coordinator with address addr.
func (c *Config) Coordinator(addr string) (*Coordinator, bool) {
	addr = strings.ToLower(addr)
	for i := range c.Coordinators {
		if c.Coordinators[i].Address == addr {
			return &c.Coordinators[i], true
		}
	}
	return nil, false
}

// Secret reads a secret from a file or an environment variable, never a flag.
func Secret(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		return os.Getenv(env), nil
	}
	return "", nil
}
