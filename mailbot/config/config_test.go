package config

import (
	"os"
	"strings"
	"testing"
)

func TestExampleParses(t *testing.T) {
	data, err := os.ReadFile("../../configs/coordbot.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, "/etc/coordbot/coordbot.toml")
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if c.Policy.PublicationDays != 45 || c.PGP.CommandSignatureMaxAge.Hours() != 168 || !c.PGP.EncryptedDetail() {
		t.Fatalf("unexpected values: %+v", c)
	}
	if c.StorePath() != "/var/lib/coordbot/coordbot.db" {
		t.Fatalf("store path %s", c.StorePath())
	}
}

// Every key the Config struct knows must be documented in the example.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../configs/coordbot.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, key := range []string{
		"address", "name", "data_dir", "timezone", "case_id_prefix", "language", "template_dir",
		"security", "username", "password_file", "password_env", "mailbox", "processed_mailbox",
		"quarantine_mailbox", "poll_interval", "sent_mailbox", "hello_name", "key_file",
		"passphrase_env", "passphrase_file", "require_encrypted_detail", "require_signed_vendor_answers",
		"command_signature_max_age", "fingerprint", "publication_days", "first_reminder",
		"reminder_every", "unreachable_after_months", "stage_months", "auto_send_detail",
		"max_message_bytes", "max_mime_depth", "max_mime_parts", "max_answers_per_hour",
		"auth", "token_file", "token_command", "ca_file", "listen", "socket", "max_outbox_age", "max_poll_silence", "level", "format",
	} {
		if !strings.Contains(text, "\n"+key+" =") && !strings.Contains(text, "# "+key+" =") {
			t.Errorf("key %s is not documented in the example config", key)
		}
	}
}

func TestValidationNamesKey(t *testing.T) {
	base := `
[bot]
address = "vultures@cert.example"
[imap]
address = "127.0.0.1:143"
security = "none"
[smtp]
address = "127.0.0.1:25"
security = "none"
`
	tests := []struct {
		name, extra, want string
	}{
		{"bad imap security", strings.Replace(base, `security = "none"`+"\n[smtp]", `security = "tsl"`+"\n[smtp]", 1), `imap.security: "tsl" is not one of tls, starttls, none`},
		{"plaintext off loopback", strings.Replace(base, `127.0.0.1:143`, `imap.example:143`, 1), `imap.address: security "none" is allowed on a loopback address only`},
		{"bad timezone", base + "\n", ""},
		{"unknown key", base + "[policy]\npublication_dayz = 3\n", "policy.publication_dayz: unknown key"},
		{"bad duration", base + "[policy]\nfirst_reminder = \"7 days\"\n", `"7 days" is not a duration`},
		{"bad fingerprint", base + "[[coordinator]]\naddress = \"c@cert.example\"\nfingerprint = \"XYZ\"\n", `coordinator[0].fingerprint: "XYZ" is not`},
		{"bad language", strings.Replace(base, "[imap]", "language = \"fr\"\n[imap]", 1), `bot.language: "fr" is not one of ja, en`},
		{"missing address", strings.Replace(base, `address = "vultures@cert.example"`, ``, 1), `bot.address: missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.extra), "test.toml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
