// Package schedule holds the scheduler's rules (DESIGN §5, §11) as one pure
// function: given the state of one case, its vendors and an instant, Due
// says which actions are due. It has no clock and does no I/O.
//
// The desk runs Due inside a store transaction, sends or queues what it
// returns, and records each Action.Key (store.Tx.PutKeyed) in the same
// transaction. Keys are stable: a due action keeps its key at every later
// instant until it is done, so a pass at the same instant twice, or a pass
// after a crash in the middle of another, sends nothing twice.
//
// The rules, after the JPCERT/CC guideline for product developers:
//
//   - Reminders (DESIGN §5): to a vendor that owes an answer, FirstReminder
//     after the notice that created the debt (or after its last genuine
//     answer), then every ReminderEvery. After missed passes only the latest
//     due reminder is returned: one reminder, not a burst.
//   - Before publication (§4-1): at each BeforePublication offset before the
//     publication date of a scheduled case, a reminder to every vendor that
//     has the detail and no final status.
//   - Unreachable (§2-3, §4-5, §7): no answer for UnreachableAfterMonths
//     calendar months from the first attempt, every contact tried → stage 1
//     is proposed to the coordinators; each next stage StageMonths after the
//     previous one was applied. Stages are applied only by a coordinator
//     command; an answer stops the track.
//   - One year (§4-5): the coordinators hear when an open, unpublished case
//     reaches 11 and 12 months from its start (起算日).
//
// # Months
//
// Calendar months in Policy.Location, counted from their anchor and clamped
// to the end of a shorter month: 2027-01-31 + 1 month = 2027-02-28 (see
// AddMonths).
//
// # Choices where the design leaves one
//
//   - registration-requested owes the registration: §2-3's three months run
//     from the request, so it is reminded on the same schedule as an
//     overview, and can go unreachable.
//   - detail-sent owes a status until a status other than info-provided (the
//     default set with the detail) is reported; for the before-publication
//     reminders only affected and not-affected are final.
//   - A vendor whose every address is failing (bounced) or public (§2-3) gets
//     no reminders: nothing can reach it. Its bounced addresses count as
//     tried, so it still goes unreachable.
//   - A vendor in the unreachable state, or with a stage applied and no
//     answer since, gets no reminders: the §7 track handles it.
//   - One reminder per vendor per pass: when a before-publication reminder
//     is due it is the one sent, and the periodic clock restarts from it.
//     After missed passes only the latest before-publication offset is sent,
//     and only offsets reached after the vendor got the detail.
//   - Reminder keys carry the debt phase, the instant the clock runs from
//     (notice or last answer, UTC) and the reminder number:
//     remind/CASE/VENDOR/overview/20270110T000000Z/2. An answer restarts the
//     numbering under a new key. Before-publication keys carry the
//     publication instant and the offset, so a moved date gets its own:
//     remind-before-publication/CASE/VENDOR/20270420T010000Z/t-7d.
//   - The unreachable clock runs from the vendor's 起算日: its first notice on
//     the case (registration request, overview or detail), never before the
//     case start; for vendors notified at the start it is the case start.
//     Only vendors the desk waits on can go unreachable: registration-
//     requested, overview-sent, detail-sent (detail sent straight away and
//     never answered), or already unreachable.
//   - Stage 1 is kind unreachable-proposed; stages 2–4 are kind
//     unreachable-stage-due. Both keyed unreachable-propose/CASE/VENDOR/stage-N,
//     proposed once; a proposal the coordinators ignore is not repeated.
//   - The next stage is due StageMonths after the current one was applied
//     (VendorState.StageAppliedAt; unknown → its nominal time). An answer
//     since then stops the track and yields one unreachable-answered per
//     stage (stage 0: stage 1 was proposed, not applied). An answer older
//     than the applied stage (a coordinator advanced anyway) does not.
//   - Published cases: no reminders, no stage proposals (the information is
//     public), no one-year notices; unreachable-answered still is. Closed and
//     cancelled cases: nothing at all.
//   - After an outage spanning 11 and 12 months only the one-year notice is
//     sent.
package schedule
