package desk

import (
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/mailbot/process"
	sealpkg "github.com/coordbot/coordbot/mailbot/seal"
	"github.com/coordbot/coordbot/store"
)

var answerWords = map[string][2]string{
	"yes": {"詳細情報の請求: はい (技術的な詳細情報をお送りします)", "Request detail: yes (the technical detail will be sent to you)"},
	"no":  {"詳細情報の請求: いいえ (該当製品なし)", "Request detail: no (no such product)"},
}

var cancelWords = map[string][2]string{
	"known":          {"脆弱性情報が既に公知であるため", "the vulnerability is already publicly known"},
	"no-impact":      {"影響がないことが確認されたため", "there is no impact"},
	"users-notified": {"開発者自身が利用者へ周知したため", "the developer has informed all of its users itself"},
}

// StatusWordsJA are the guideline's words for each public status (§6-4).
var StatusWordsJA = map[string]string{
	store.StatusInfoProvided:             "脆弱性情報提供済み",
	store.StatusAffected:                 "該当製品あり",
	store.StatusAffectedInvestigating:    "該当製品あり：調査中",
	store.StatusNotAffected:              "該当製品なし",
	store.StatusNotAffectedInvestigating: "該当製品なし：調査中",
}

// recorded lists what an acknowledgement says was recorded, in both languages.
func recorded(f map[string]string) (ja, en []string) {
	if a, ok := answerWords[f["answer"]]; ok {
		return []string{a[0]}, []string{a[1]}
	}
	if f["customer_notice"] == "approved" {
		return []string{"公表前の顧客への通知: 承認されました (§6-3)"}, []string{"Pre-publication notice to your customers: approved"}
	}
	if st := f["status"]; st != "" {
		ja = append(ja, "該当状況: "+StatusWordsJA[st])
		en = append(en, "Status: "+st)
	}
	for _, l := range []struct{ key, ja, en string }{
		{"comment", "公表用コメント", "Public comment"}, {"url", "告知ページ", "Advisory URL"},
		{"fixplan", "対策方針", "Fix plan"}, {"schedule", "対応スケジュール", "Schedule"},
	} {
		if v := notice.OneLine(f[l.key]); v != "" {
			ja = append(ja, l.ja+": "+v)
			en = append(en, l.en+": "+v)
		}
	}
	return ja, en
}

// confidential kinds never leave unencrypted (§8-1).
func confidential(kind string) bool {
	switch kind {
	case process.KindDetail, process.KindDate, process.KindPriority:
		return true
	}
	return false
}

// queue renders one notice and puts it in the outbox, inside tx. c may be
// nil for notices that belong to no case (triage of unplaceable mail).
func (d *Desk) queue(tx *store.Tx, now time.Time, c *store.Case, n process.Notice) error {
	data := notice.Data{Desk: d.Cfg.Bot.Name, Quarantine: d.Cfg.IMAP.QuarantineMailbox}
	if c != nil {
		data.CaseID, data.Title, data.Overview = c.ID, c.Title, c.Overview
		if n.Kind == process.KindDetail || n.Kind == process.KindPriority {
			// Only confidential notices carry the detail and dates (§8-1).
			data.Detail = c.Detail
			if !c.Target.IsZero() {
				data.TargetDate = c.Target.In(d.Cfg.Location()).Format("2006-01-02 15:04 MST")
			}
		}
		if confidential(n.Kind) && !c.Publication.IsZero() {
			data.PublicationDate = c.Publication.In(d.Cfg.Location()).Format("2006-01-02 15:04 MST")
		}
	} else {
		data.CaseID = n.Case
	}
	data.RecordedJA, data.RecordedEN = recorded(n.Fields)
	for k, v := range n.Fields {
		switch k {
		case "from":
			data.AnswerFrom, data.From = v, v
		case "message_id":
			data.AnswerMessageID, data.MessageID = v, v
		case "reason":
			data.Reason = v
			if w, ok := cancelWords[v]; ok {
				data.CancelReasonJA, data.CancelReasonEN = w[0], w[1]
			}
		case "vendor":
			data.VendorID = v
		case "old":
			data.OldKey = v
		case "new":
			data.NewKey = v
		case "key":
			data.PublicKey = v
		case "state":
			data.State = v
		case "transcript":
			data.Transcript = v
		case "errors":
			data.Errors = v
		case "preview":
			data.Preview = v == "yes"
		case "stage":
			if v != "0" {
				data.Stage = v
			}
		}
	}
	if n.Fields["kind"] != "" {
		schedFields(&data, n)
		if data.VendorID != "" && data.VendorName == "" {
			if v, err := tx.Vendor(data.VendorID); err == nil {
				data.VendorName = v.Name
			}
		}
	}
	type rcpt struct {
		to   []string
		lang string
		keys []*openpgp.Entity
	}
	var rcpts []rcpt
	if n.Kind == process.KindPriority {
		for _, pr := range d.Cfg.Priority {
			pub, err := keys.ReadPublicFile(pr.KeyFile, now)
			if err != nil {
				return fmt.Errorf("priority recipient %s: %w", pr.Address, err)
			}
			rcpts = append(rcpts, rcpt{to: []string{pr.Address}, lang: d.Cfg.Bot.Language, keys: []*openpgp.Entity{pub.Entity}})
		}
	} else if n.ToCoordinators {
		for i := range d.Cfg.Coordinators {
			co := &d.Cfg.Coordinators[i]
			if only := n.Fields["to"]; only != "" && co.Address != only {
				// A transcript goes to the coordinator who sent the commands.
				continue
			}
			r := rcpt{to: []string{co.Address}, lang: d.Cfg.Bot.Language}
			if k := d.coordinatorKey(co, now); k != nil {
				r.keys = []*openpgp.Entity{k}
			}
			rcpts = append(rcpts, r)
		}
		if len(rcpts) == 0 {
			d.Log.Warn("no coordinator configured: notice dropped", "case", n.Case, "kind", n.Kind)
			return nil
		}
	} else {
		v, err := tx.Vendor(n.Vendor)
		if err != nil {
			return err
		}
		data.VendorID, data.VendorName = v.ID, v.Name
		var to []string
		for _, ct := range v.Contacts {
			// §2-3: never a public list or forum.
			if !ct.Public {
				to = append(to, ct.Addr)
			}
		}
		if len(to) == 0 {
			return fmt.Errorf("%s notice to %s: %w", n.Kind, v.ID, process.ErrNoContact)
		}
		rcpts = append(rcpts, rcpt{to: to, lang: v.Lang, keys: d.vendorKeys(v, now)})
	}
	robot, err := d.RobotKey()
	if err != nil {
		return err
	}
	if n.Kind == process.KindAck && d.rateLimited(tx, now, rcpts[0].to) {
		// Loop and flood protection: answers to one address are capped per hour.
		d.Log.Warn("acknowledgement not sent: rate limit", "case", n.Case, "vendor", n.Vendor, "limit", d.Cfg.Limits.MaxAnswersPerHour)
		return nil
	}
	for _, r := range rcpts {
		subj, body, err := d.Render.Render(r.lang, n.Kind, data)
		if err != nil {
			return err
		}
		tag := n.Case
		if tag == "" {
			tag = "coordbot"
		}
		outer := "[" + tag + "] " + subj
		if n.Kind == KindTranscript {
			// debbugs style: the Subject starts "Processed:"; the
			// coordinator's own Subject only inside the encryption.
			outer = subj + " [" + tag + "]"
		}
		m := notice.Mail{
			From:       mail.Address{Name: d.Cfg.Bot.Name, Address: d.Cfg.Bot.Address},
			To:         r.to,
			Subject:    outer,
			Date:       now,
			MessageID:  notice.NewMessageID(n.Kind, n.Case, d.domain()),
			InReplyTo:  n.InReplyTo,
			References: n.References,
			Body:       body,
			LoopHeader: d.Cfg.Bot.Address,
		}
		sm := &sealpkg.Message{Header: m.Header(), Body: body}
		if n.Kind == process.KindDetail && c != nil {
			for _, a := range c.Attach {
				sm.Attachments = append(sm.Attachments, sealpkg.Attachment{Filename: a.Name, ContentType: a.ContentType, Data: a.Data})
			}
		}
		encrypted := len(r.keys) > 0
		var seal func() ([]byte, error)
		if encrypted {
			if c != nil {
				// The title travels only inside the encryption (T9).
				sm.ProtectedSubject = m.Subject + " " + c.Title
			}
			if n.Kind == KindTranscript {
				sm.ProtectedSubject = subj + " " + n.Fields["subject"]
			}
			// Encrypted to the robot too, so the Sent copy stays readable by the desk.
			to := append(append([]*openpgp.Entity{}, r.keys...), robot)
			seal = func() ([]byte, error) { return sealpkg.Encrypt(sm, robot, to, now) }
		} else {
			if confidential(n.Kind) && d.Cfg.PGP.EncryptedDetail() {
				// The process rules hold the detail before this; this is the last fence.
				return fmt.Errorf("refusing to send the %s notice of %s unencrypted", n.Kind, n.Case)
			}
			seal = func() ([]byte, error) { return sealpkg.Sign(sm, robot, now) }
		}
		e := &store.OutboxEntry{MessageID: m.MessageID, Case: n.Case, Vendor: n.Vendor, Kind: n.Kind,
			From: d.Cfg.Bot.Address, To: r.to, Encrypted: encrypted, Created: now}
		// Due at once (zero NextAttempt), even when queued by a pass run "as of" a later time.
		if err := tx.Enqueue(e); err != nil {
			return fmt.Errorf("queue %s notice: %w", n.Kind, err)
		}
		// Sealed just before the commit, together with the transaction's
		// other notices, on every core.
		sealsOf(tx).add(e, n, seal)
		d.Log.Debug("notice queued", "case", n.Case, "vendor", n.Vendor, "kind", n.Kind, "message_id", m.MessageID,
			"to", strings.Join(r.to, ","), "encrypted", encrypted)
	}
	return nil
}

// rateLimited tells whether the addresses already got max_answers_per_hour
// notices in the last hour.
func (d *Desk) rateLimited(tx *store.Tx, now time.Time, to []string) bool {
	limit := d.Cfg.Limits.MaxAnswersPerHour
	if limit <= 0 || len(to) == 0 {
		return false
	}
	return tx.CountSentTo(to[0], now.Add(-time.Hour)) >= limit
}

// sealJobs are the notices queued in one transaction. Each is sealed as
// soon as it is queued, on every core, while the transaction goes on
// rendering the next; the transaction waits for the last before it
// commits. Signing and encrypting the hundreds of notices of a mass case,
// or a backlog's acknowledgements, then overlaps the serial work of the
// transaction instead of following it.
type sealJobs struct {
	next     chan *sealJob
	jobs     []*sealJob
	wg       sync.WaitGroup
	closed   bool
	rollback atomic.Bool
}

type sealJob struct {
	e    *store.OutboxEntry
	n    process.Notice
	seal func() ([]byte, error)
	raw  []byte
	err  error
}

type sealKey struct{}

func sealsOf(tx *store.Tx) *sealJobs {
	return tx.Local(sealKey{}, func() any {
		s := &sealJobs{next: make(chan *sealJob, 64)}
		for range runtime.GOMAXPROCS(0) {
			s.wg.Add(1)
			go s.work()
		}
		tx.BeforeCommit(func() error { return s.run(tx) })
		// A transaction that fails before its commit stops the workers;
		// what they have not sealed yet is not sealed.
		tx.AtEnd(func() {
			s.rollback.Store(true)
			s.stop()
		})
		return s
	}).(*sealJobs)
}

func (s *sealJobs) work() {
	defer s.wg.Done()
	for j := range s.next {
		if s.rollback.Load() {
			continue
		}
		j.raw, j.err = j.seal()
	}
}

func (s *sealJobs) add(e *store.OutboxEntry, n process.Notice, seal func() ([]byte, error)) {
	if s.closed {
		// Only BeforeCommit hooks run after run's wait, and none queues.
		panic("desk: notice queued after the transaction's notices were sealed")
	}
	j := &sealJob{e: e, n: n, seal: seal}
	s.jobs = append(s.jobs, j)
	s.next <- j
}

func (s *sealJobs) stop() {
	if !s.closed {
		s.closed = true
		close(s.next)
	}
	s.wg.Wait()
}

// run waits for every notice to be sealed and stores them, before the
// commit. Nothing queues a notice after it (add refuses).
func (s *sealJobs) run(tx *store.Tx) error {
	s.stop()
	for _, j := range s.jobs {
		if j.err != nil {
			return fmt.Errorf("seal %s notice of %s: %w", j.n.Kind, j.n.Case, j.err)
		}
		j.e.Raw = j.raw
		if err := tx.PutOutbox(j.e); err != nil {
			return fmt.Errorf("queue %s notice: %w", j.n.Kind, err)
		}
	}
	s.jobs = nil
	return nil
}
