package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
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
	}, nil
}

// InsertStatement adds the header of st; models.ErrConflict if the
// partner's statement for that month exists.
func (s *Store) InsertStatement(ctx context.Context, st models.Statement) error {
	return s.insert(ctx, colStatements, statementDoc{
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
	})
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

// Statements lists a community's statements by id, only the partner's
// when partnerID is not "" and only the month's when month is not "".
// There is one per partner and month, so the collection stays small.
func (s *Store) Statements(ctx context.Context, communityID, partnerID, month string) ([]models.Statement, error) {
	filter := bson.D{{Key: "community", Value: communityID}}
	if partnerID != "" {
		filter = append(filter, bson.E{Key: "partner", Value: partnerID})
	}
	if month != "" {
		filter = append(filter, bson.E{Key: "month", Value: month})
	}
	var docs []statementDoc
	if err := s.page(ctx, colStatements, filter, "", 0, &docs); err != nil {
		return nil, err
	}
	out := make([]models.Statement, 0, len(docs))
	for _, d := range docs {
		st, err := d.model()
		if err != nil {
			return nil, err
		}
		if st, err = s.withTransitions(ctx, st); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
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
	// Only a cache: readers take the status from the transitions.
	_ = s.setByID(ctx, colStatements, t.StatementID, bson.D{{Key: "status", Value: string(t.Status)}})
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

// withTransitions fills the status of st from its transition records, two
// exact-_id reads.
func (s *Store) withTransitions(ctx context.Context, st models.Statement) (models.Statement, error) {
	st.Status = models.StatementDraft
	for _, status := range []models.StatementStatus{models.StatementConfirmed, models.StatementPaid} {
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
	Fields     eventFields `bson:",inline"` // the driver skips unexported embedded structs
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

// ClaimStatementLines adds lines in one round trip and returns those that
// stand in their statement: the ones inserted now, and the ones found
// already written for the same statement (a resumed or concurrent run of
// it), as written. A line's id names its event only (models.StatementLineID),
// so a line found written for another statement is that statement's, and is
// left out: an event is on one statement at most.
func (s *Store) ClaimStatementLines(ctx context.Context, lines []models.StatementLine) ([]models.StatementLine, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	docs := make([]any, len(lines))
	for i, l := range lines {
		docs[i] = toLineDoc(l)
	}
	err := s.write(ctx, func() error {
		_, err := s.c(colStatementLines).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		return err
	})
	if err == nil {
		return lines, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, mapErr("insert statement lines", err)
	}
	taken := map[int]bool{}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return nil, mapErr("insert statement lines", err)
		}
		taken[we.Index] = true
	}
	out := make([]models.StatementLine, 0, len(lines))
	for i, l := range lines {
		if !taken[i] {
			out = append(out, l)
			continue
		}
		var d lineDoc
		if err := s.findByID(ctx, colStatementLines, l.ID, &d); err != nil {
			return nil, fmt.Errorf("store: statement line %s: %w", l.ID, err)
		}
		if d.Statement == l.StatementID {
			out = append(out, d.model())
		}
	}
	return out, nil
}

// StatementLine returns the line with id, or models.ErrNotFound.
func (s *Store) StatementLine(ctx context.Context, id string) (models.StatementLine, error) {
	var d lineDoc
	if err := s.findByID(ctx, colStatementLines, id, &d); err != nil {
		return models.StatementLine{}, err
	}
	return d.model(), nil
}

// EachStatementLine streams a statement's lines in time order, holding one
// at a time, so an export of any size takes the same memory.
func (s *Store) EachStatementLine(ctx context.Context, statementID string, fn func(models.StatementLine) error) error {
	cur, err := s.c(colStatementLines).Find(ctx, bson.D{{Key: "statement", Value: statementID}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	return eachDoc(ctx, cur, err, "statement lines", func(d lineDoc) error { return fn(d.model()) })
}

// StatementLines returns a page of a statement's lines by id, after the
// line id after, at most limit.
func (s *Store) StatementLines(ctx context.Context, statementID, after string, limit int) ([]models.StatementLine, error) {
	var docs []lineDoc
	if err := s.page(ctx, colStatementLines, bson.D{{Key: "statement", Value: statementID}}, after, limit, &docs); err != nil {
		return nil, err
	}
	out := make([]models.StatementLine, len(docs))
	for i, d := range docs {
		out[i] = d.model()
	}
	return out, nil
}

// EachPointsAccount streams every account that holds points: each has a
// first entry (seq 1), and the entries are the truth, unlike the head
// hints, which are only refreshed now and then. A scan, for monthly jobs.
func (s *Store) EachPointsAccount(ctx context.Context, fn func(models.Account) error) error {
	cur, err := s.c(colEntries).Find(ctx,
		bson.D{{Key: "seq", Value: 1}, {Key: "asset", Value: string(models.AssetPoints)}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(bson.D{{Key: "resident", Value: 1}}))
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
