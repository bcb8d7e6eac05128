package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// statementDoc is a partner's monthly statement as stored in statements.
type statementDoc struct {
	ID           string    `bson:"_id"`
	Community    string    `bson:"community"`
	Partner      string    `bson:"partner"`
	PartnerName  string    `bson:"partner_name"`
	Month        string    `bson:"month"`
	Lines        int       `bson:"lines"`
	Adjustments  int       `bson:"adjustments"`
	TotalFen     int64     `bson:"total_fen"`
	CommunityFen int64     `bson:"community_fen"`
	PartnerFen   int64     `bson:"partner_fen"`
	Status       string    `bson:"status"` // a cache of the transitions
	Created      time.Time `bson:"created"`
	Slots        []slotRef `bson:"slots,omitempty"` // its places on its lists (lists.go)
	// Copies of the confirmed and paid transitions, each written after its
	// transition's insert won (InsertStatementTransition); withTransitions
	// reads a transition only when its copy is missing.
	ConfirmedBy string    `bson:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `bson:"confirmed_at,omitempty"`
	PaidBy      string    `bson:"paid_by,omitempty"`
	PaidAt      time.Time `bson:"paid_at,omitempty"`
}

// model returns the stored statement, or an error if its month is not
// one.
func (d statementDoc) model() (models.Statement, error) {
	m, err := models.ParseMonth(d.Month)
	if err != nil {
		return models.Statement{}, fmt.Errorf("store: statement %s: bad month %q", d.ID, d.Month)
	}
	return models.Statement{
		ID:           d.ID,
		CommunityID:  d.Community,
		PartnerID:    d.Partner,
		PartnerName:  d.PartnerName,
		Month:        m,
		Lines:        d.Lines,
		Adjustments:  d.Adjustments,
		TotalFen:     models.Fen(d.TotalFen),
		CommunityFen: models.Fen(d.CommunityFen),
		PartnerFen:   models.Fen(d.PartnerFen),
		Status:       models.StatementStatus(d.Status),
		Created:      d.Created.UTC(),
		ConfirmedBy:  d.ConfirmedBy,
		ConfirmedAt:  d.ConfirmedAt.UTC(),
		PaidBy:       d.PaidBy,
		PaidAt:       d.PaidAt.UTC(),
	}, nil
}

// statementLists are the lists, read newest first (docs/PERFORMANCE.md,
// "Lists"), that partnerID's statement of month in communityID is on: the
// community's, the partner's in the community, and the month's in the
// community.
func statementLists(communityID, partnerID, month string) []string {
	return []string{
		"stc:" + communityID,
		"stp:" + communityID + ":" + partnerID,
		"stm:" + communityID + ":" + month,
	}
}

// InsertStatement adds the header of st after its slots on its lists, in
// one ordered insert (lists.go); models.ErrConflict if the partner's
// statement for that month exists (the new slots then name nothing and are
// skipped).
func (s *Store) InsertStatement(ctx context.Context, st models.Statement) error {
	lists := statementLists(st.CommunityID, st.PartnerID, st.Month.String())
	_, err := s.insertListed(ctx, colStatements, lists, st.ID, st.Created, func(slots []slotRef) any {
		return statementDoc{
			ID:           st.ID,
			Community:    st.CommunityID,
			Partner:      st.PartnerID,
			PartnerName:  st.PartnerName,
			Month:        st.Month.String(),
			Lines:        st.Lines,
			Adjustments:  st.Adjustments,
			TotalFen:     int64(st.TotalFen),
			CommunityFen: int64(st.CommunityFen),
			PartnerFen:   int64(st.PartnerFen),
			Status:       string(st.Status),
			Created:      st.Created,
			Slots:        slots,
		}
	})
	return err
}

// Statement returns the statement with id, its status taken from the
// transition records, or models.ErrNotFound.
func (s *Store) Statement(ctx context.Context, id string) (models.Statement, error) {
	var d statementDoc
	if err := s.findByID(ctx, colStatements, id, &d); err != nil {
		return models.Statement{}, err
	}
	st, err := d.model()
	if err != nil {
		return models.Statement{}, err
	}
	return s.withTransitions(ctx, st)
}

// Statements is one page of a community's statements, newest first: all
// of them, only the partner's when partnerID is not "", only the month's
// when month (YYYY-MM) is not "". Each is a list of its own (a partner's
// month is its one statement, read by id), so a page costs its own size
// whatever the history: at most limit slots below cursor ("" for the first
// page), and the cursor of the next page ("" at the end). A cursor the
// list did not give out is models.ErrBadCursor.
func (s *Store) Statements(ctx context.Context, communityID, partnerID, month, cursor string, limit int) ([]models.Statement, string, error) {
	if partnerID != "" && month != "" {
		if cursor != "" {
			return nil, "", badCursor(cursor)
		}
		m, err := models.ParseMonth(month)
		if err != nil {
			return nil, "", err
		}
		st, err := s.Statement(ctx, models.StatementID(partnerID, m))
		switch {
		case errors.Is(err, models.ErrNotFound) || (err == nil && st.CommunityID != communityID):
			return []models.Statement{}, "", nil
		case err != nil:
			return nil, "", err
		}
		return []models.Statement{st}, "", nil
	}
	lists := statementLists(communityID, partnerID, month)
	list := lists[0]
	switch {
	case partnerID != "":
		list = lists[1]
	case month != "":
		list = lists[2]
	}
	docs, next, err := listedRead[statementDoc, *statementDoc]{
		col:     colStatements,
		list:    list,
		slotsOf: func(d *statementDoc) []slotRef { return d.Slots },
		model:   func(d *statementDoc) *statementDoc { return d },
	}.pageAfter(ctx, s, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]models.Statement, 0, len(docs))
	for _, d := range docs {
		st, err := d.model()
		if err != nil {
			return nil, "", err
		}
		if st, err = s.withTransitions(ctx, st); err != nil {
			return nil, "", err
		}
		out = append(out, st)
	}
	return out, next, nil
}

// listStatementsStoredBefore puts the statements and statement lines
// stored before their lists existed on them, once (listStoredBefore): each
// statement on its community's, partner's and month's lists in the order
// they were made, each line on its statement's list in the order of its
// event's time.
func (s *Store) listStatementsStoredBefore(ctx context.Context) error {
	str := func(d bson.M, k string) string { v, _ := d[k].(string); return v }
	at := func(d bson.M, k string) time.Time {
		if t, ok := d[k].(bson.DateTime); ok {
			return t.Time().UTC()
		}
		return time.Time{}
	}
	err := s.listStoredBefore(ctx, "statement-lists", colStatements, nil, func(d bson.M) ([]string, time.Time) {
		return statementLists(str(d, "community"), str(d, "partner"), str(d, "month")), at(d, "created")
	})
	if err != nil {
		return err
	}
	return s.listStoredBefore(ctx, "statement-line-lists", colStatementLines, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "statement") == "" {
			return nil, time.Time{}
		}
		return []string{lineList(str(d, "statement"))}, at(d, "at")
	})
}

// transitionDoc is one status change of a statement as stored in
// statement_status, inserted once.
type transitionDoc struct {
	ID        string    `bson:"_id"`
	Statement string    `bson:"statement"`
	Status    string    `bson:"status"`
	By        string    `bson:"by"`
	At        time.Time `bson:"at"`
}

// transitionID is the _id of the change of statementID to status.
func transitionID(statementID string, status models.StatementStatus) string {
	return statementID + ":" + string(status)
}

// InsertStatementTransition records a status change once; models.ErrConflict
// if the statement already reached that status. The header's status field
// is then refreshed as a cache.
func (s *Store) InsertStatementTransition(ctx context.Context, t models.StatementTransition) error {
	err := s.insert(ctx, colStatementStatus, transitionDoc{
		ID:        transitionID(t.StatementID, t.Status),
		Statement: t.StatementID,
		Status:    string(t.Status),
		By:        t.By,
		At:        t.At,
	})
	if err != nil {
		return err
	}
	// Only a cache: readers take the status from the transitions, and a
	// transition's copy (this insert won, so its by and at are the stored
	// ones) from the header, since a transition never changes. A crash
	// before this write leaves the copy missing, and readers read the
	// transition.
	byKey, atKey := "confirmed_by", "confirmed_at"
	if t.Status == models.StatementPaid {
		byKey, atKey = "paid_by", "paid_at"
	}
	_ = s.setByID(ctx, colStatements, t.StatementID, bson.D{
		{Key: "status", Value: string(t.Status)},
		{Key: byKey, Value: t.By},
		{Key: atKey, Value: t.At},
	})
	return nil
}

// statementBegun is the status of the record that says when a statement's
// settlement began; readers of the status skip it.
const statementBegun = "begun"

// BeginSettlement records, once, that the settlement of statement
// statementID began at at, and returns the time of the first such record:
// every run of that statement, resumed or concurrent, takes the same
// cut-off for the events it counts.
func (s *Store) BeginSettlement(ctx context.Context, statementID string, at time.Time) (time.Time, error) {
	id := statementID + ":" + statementBegun
	err := s.insert(ctx, colStatementStatus, transitionDoc{
		ID:        id,
		Statement: statementID,
		Status:    statementBegun,
		At:        at,
	})
	if err == nil {
		return at.UTC(), nil
	}
	if !errors.Is(err, models.ErrConflict) {
		return time.Time{}, err
	}
	var d transitionDoc
	if err := s.findByID(ctx, colStatementStatus, id, &d); err != nil {
		return time.Time{}, err
	}
	return d.At.UTC(), nil
}

// withTransitions fills the status of st from its transition records: an
// exact-_id read of each transition whose copy the header lacks (st's
// ConfirmedAt, PaidAt as stored), so a paid statement whose copies were
// written costs none, and a draft two.
func (s *Store) withTransitions(ctx context.Context, st models.Statement) (models.Statement, error) {
	st.Status = models.StatementDraft
	copies := map[models.StatementStatus]bool{
		models.StatementConfirmed: !st.ConfirmedAt.IsZero(),
		models.StatementPaid:      !st.PaidAt.IsZero(),
	}
	for _, status := range []models.StatementStatus{models.StatementConfirmed, models.StatementPaid} {
		if copies[status] {
			st.Status = status
			continue
		}
		var d transitionDoc
		err := s.findByID(ctx, colStatementStatus, transitionID(st.ID, status), &d)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return models.Statement{}, err
		}
		st.Status = status
		if status == models.StatementConfirmed {
			st.ConfirmedBy, st.ConfirmedAt = d.By, d.At.UTC()
		} else {
			st.PaidBy, st.PaidAt = d.By, d.At.UTC()
		}
	}
	return st, nil
}

// lineDoc is a statement line: the event it was made from, with the
// statement's own fields beside it.
type lineDoc struct {
	ID         string      `bson:"_id"`
	Statement  string      `bson:"statement"`
	Adjustment bool        `bson:"adjustment"`
	Event      string      `bson:"event"`
	Fields     eventFields `bson:",inline"`         // the driver skips unexported embedded structs
	Slots      []slotRef   `bson:"slots,omitempty"` // its place on its statement's list of lines
}

// toLineDoc returns statement line l as stored.
func toLineDoc(l models.StatementLine) lineDoc {
	return lineDoc{
		ID:         l.ID,
		Statement:  l.StatementID,
		Adjustment: l.Adjustment,
		Event:      l.Event.ID,
		Fields:     toEventFields(l.Event),
	}
}

// model returns the stored statement line.
func (d lineDoc) model() models.StatementLine {
	return models.StatementLine{
		ID:          d.ID,
		StatementID: d.Statement,
		Adjustment:  d.Adjustment,
		Event:       d.Fields.event(d.Event),
	}
}

// lineList is the name of statement statementID's list of lines
// (docs/PERFORMANCE.md, "Lists"), in statement_lines.
func lineList(statementID string) string { return "sl:" + statementID }

// ClaimStatementLines adds lines and returns those that stand in their
// statement: the ones inserted now, and the ones found already written for
// the same statement (a resumed or concurrent run of it), as written. A
// line's id names its event only (models.StatementLineID), so a line found
// written for another statement is that statement's, and is left out: an
// event is on one statement at most.
//
// Each line goes on its statement's list of lines (insertListedMany, one
// ordered insert: on the embedded store one transaction, so a batch costs
// one commit). The insert stops at a line already written (its new slot
// then names nothing and is skipped by readers); the lines still to write
// are then looked up by id, those found stand as written, and the rest go
// on. resumed says another run of the statement began before this one:
// its lines are looked up first, so a resumed run does not stop at each
// of them.
//
// Crash points: slot written, line not (on MongoDB, where the ordered
// insert is not one transaction): the slot names a line that does not
// exist or names another slot, and is skipped; the resumed run writes the
// line after a new slot, so it is listed once. A line without its slot
// cannot exist.
func (s *Store) ClaimStatementLines(ctx context.Context, lines []models.StatementLine, resumed bool) ([]models.StatementLine, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	written := make([]*lineDoc, len(lines)) // lines found already written
	if resumed {
		var err error
		if written, err = s.findLines(ctx, lines); err != nil {
			return nil, err
		}
	}
	todo := make([]int, 0, len(lines)) // indexes of lines still to insert
	for i := range lines {
		if written[i] == nil {
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		records := make([]listedRecord, len(todo))
		for k, i := range todo {
			l := lines[i]
			records[k] = listedRecord{
				lists: []string{lineList(l.StatementID)},
				ref:   l.ID,
				at:    l.Event.At,
				doc: func(slots []slotRef) any {
					d := toLineDoc(l)
					d.Slots = slots
					return d
				},
			}
		}
		_, inserted, err := s.insertListedMany(ctx, colStatementLines, records, listHintEvery)
		if err != nil {
			return nil, err
		}
		if inserted == len(todo) {
			break
		}
		// Line todo[inserted] was written before: another run is writing
		// these lines (or wrote them), so the rest are looked up.
		rest := make([]models.StatementLine, 0, len(todo)-inserted)
		for _, i := range todo[inserted:] {
			rest = append(rest, lines[i])
		}
		docs, err := s.findLines(ctx, rest)
		if err != nil {
			return nil, err
		}
		left := todo[:0:0]
		for k, i := range todo[inserted:] {
			if docs[k] != nil {
				written[i] = docs[k]
			} else {
				left = append(left, i)
			}
		}
		todo = left
	}
	out := make([]models.StatementLine, 0, len(lines))
	for i, l := range lines {
		if written[i] == nil {
			out = append(out, l)
		}
	}
	for i, d := range written {
		if d != nil && d.Statement == lines[i].StatementID {
			out = append(out, d.model())
		}
	}
	return out, nil
}

// findLines looks each of lines up by id (findEach): docs[i] is line i as
// written, nil if it is not.
func (s *Store) findLines(ctx context.Context, lines []models.StatementLine) ([]*lineDoc, error) {
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.ID
	}
	docs, err := findEach[lineDoc](ctx, s, colStatementLines, ids)
	if err != nil {
		return nil, fmt.Errorf("store: statement lines: %w", err)
	}
	return docs, nil
}

// StatementLine returns the line with id, or models.ErrNotFound.
func (s *Store) StatementLine(ctx context.Context, id string) (models.StatementLine, error) {
	var d lineDoc
	if err := s.findByID(ctx, colStatementLines, id, &d); err != nil {
		return models.StatementLine{}, err
	}
	return d.model(), nil
}

// EachStatementLine streams a statement's lines in the order they were
// written (a settlement run writes them in time order), along its list of
// lines a page at a time, sixteen lines a lookup where their block is
// copied (linesOf), so an export costs the statement's own lines, in
// the same memory whatever their number, and never a scan of every
// statement's.
func (s *Store) EachStatementLine(ctx context.Context, statementID string, fn func(models.StatementLine) error) error {
	return linesOf(statementID).each(ctx, s, func(d *lineDoc) error {
		if d.Statement != statementID {
			return nil
		}
		return fn(d.model())
	})
}

// linesOf is statement statementID's list of lines, whose full blocks
// its readers copy (slotList): a line never changes once written.
func linesOf(statementID string) slotList[lineDoc] {
	return slotList[lineDoc]{
		col:     colStatementLines,
		list:    lineList(statementID),
		slotsOf: func(d *lineDoc) []slotRef { return d.Slots },
		copies:  readersCopy,
	}
}

// StatementLines is one page of a statement's lines, newest first: the
// lines on at most limit slots of its list below cursor ("" for the first
// page), and the cursor of the next page ("" at the end). A page may hold
// fewer than limit (slots a crash or a concurrent run left naming nothing
// are skipped) and still have a next. A cursor the list did not give out
// is models.ErrBadCursor.
func (s *Store) StatementLines(ctx context.Context, statementID, cursor string, limit int) ([]models.StatementLine, string, error) {
	return listedRead[lineDoc, models.StatementLine]{
		col:     colStatementLines,
		list:    lineList(statementID),
		slotsOf: func(d *lineDoc) []slotRef { return d.Slots },
		keep:    func(d *lineDoc) bool { return d.Statement == statementID },
		model:   func(d *lineDoc) models.StatementLine { return d.model() },
		copies:  readersCopy,
	}.pageAfter(ctx, s, cursor, limit)
}

// EachPointsAccount streams every account that holds points: each has a
// first entry (seq 1), and the entries are the truth, unlike the head
// hints, which are only refreshed now and then. A scan, for monthly jobs.
func (s *Store) EachPointsAccount(ctx context.Context, fn func(models.Account) error) error {
	cur, err := s.c(colEntries).Find(ctx,
		bson.D{{Key: "seq", Value: 1}, {Key: "asset", Value: string(models.AssetPoints)}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(fieldsOnly("resident")))
	return eachDoc(ctx, cur, err, "points accounts", func(d residentOnly) error {
		return fn(models.AccountOf(d.Resident, models.AssetPoints))
	})
}

// residentOnly is an entry projected to its resident.
type residentOnly struct {
	Resident string `bson:"resident"`
}

// EachResident streams a community's residents by id, one at a time.
func (s *Store) EachResident(ctx context.Context, communityID string, fn func(models.Resident) error) error {
	cur, err := s.c(colResidents).Find(ctx, bson.D{{Key: "community", Value: communityID}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	return eachDoc(ctx, cur, err, "residents", func(d residentDoc) error {
		r, err := s.residentModel(d)
		if err != nil {
			return err
		}
		return fn(r)
	})
}
