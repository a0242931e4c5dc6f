package open

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestLargeAttachmentCountedNotKept: a file over Limits.MaxAttachment is
// counted and marked Dropped; the text and a small file are read as usual.
func TestLargeAttachmentCountedNotKept(t *testing.T) {
	big := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("A", 3000)))
	small := base64.StdEncoding.EncodeToString([]byte("small file"))
	raw := "From: v@vendor.example\r\nTo: bot@cert.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStatus: affected\r\n" +
		"--B\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + big + "\r\n" +
		"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"s.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + small + "\r\n" +
		"--B--\r\n"
	m, err := Parse([]byte(raw), Limits{MaxAttachment: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Status: affected") {
		t.Fatalf("text %q", m.Text)
	}
	if len(m.Attachments) != 2 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	b, s := m.Attachments[0], m.Attachments[1]
	if !b.Dropped || b.Data != nil || b.Size < 4000 || b.Filename != "big.bin" {
		t.Errorf("big: %+v", b)
	}
	if s.Dropped || string(s.Data) != "small file" || s.Size != 10 {
		t.Errorf("small: %+v", s)
	}
	// With the default limit both are kept.
	m, err = Parse([]byte(raw), Limits{})
	if err != nil || m.Attachments[0].Dropped || len(m.Attachments[0].Data) != 3000 {
		t.Fatalf("default limit: %v %+v", err, m.Attachments[0].Size)
	}
}
