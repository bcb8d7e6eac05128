package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// problemDoc is one problem of an import, as stored inside it.
type problemDoc struct {
	Row     int    `bson:"row"`
	Field   string `bson:"field"`
	Code    string `bson:"code"`
	Message string `bson:"message"`
	// MessageZh is absent from imports recorded before it was kept.
	MessageZh string `bson:"message_zh,omitempty"`
}

// importDoc is an import and its outcome as stored in imports.
type importDoc struct {
	ID        string       `bson:"_id"`
	Community string       `bson:"community"`
	Kind      string       `bson:"kind"`
	Hash      string       `bson:"hash"`
	Actor     string       `bson:"actor"`
	Status    string       `bson:"status"`
	Rows      int          `bson:"rows"`
	Written   int          `bson:"written"`
	Problems  []problemDoc `bson:"problems,omitempty"`
	Started   time.Time    `bson:"started"`
	Finished  time.Time    `bson:"finished,omitempty"`
}

// toImportDoc is the document stored for im.
func toImportDoc(im models.Import) importDoc {
	return importDoc{
		ID:        im.ID,
		Community: im.CommunityID,
		Kind:      im.Kind,
		Hash:      im.Hash,
		Actor:     im.Actor,
		Status:    string(im.Status),
		Rows:      im.Rows,
		Written:   im.Written,
		Problems:  toProblemDocs(im.Problems),
		Started:   im.Started,
		Finished:  im.Finished,
	}
}

// model is the import d records.
func (d importDoc) model() models.Import {
	im := models.Import{
		ID:          d.ID,
		CommunityID: d.Community,
		Kind:        d.Kind,
		Hash:        d.Hash,
		Actor:       d.Actor,
		Status:      models.ImportStatus(d.Status),
		Rows:        d.Rows,
		Written:     d.Written,
		Started:     d.Started.UTC(),
	}
	if !d.Finished.IsZero() {
		im.Finished = d.Finished.UTC()
	}
	for _, p := range d.Problems {
		im.Problems = append(im.Problems, models.ImportProblem{
			Row:       p.Row,
			Field:     p.Field,
			Code:      p.Code,
			Message:   p.Message,
			MessageZh: p.MessageZh,
		})
	}
	return im
}

// toProblemDocs returns an import's problems as stored.
func toProblemDocs(ps []models.ImportProblem) []problemDoc {
	out := make([]problemDoc, len(ps))
	for i, p := range ps {
		out[i] = problemDoc{
			Row:       p.Row,
			Field:     p.Field,
			Code:      p.Code,
			Message:   p.Message,
			MessageZh: p.MessageZh,
		}
	}
	return out
}

// InsertImport records im; models.ErrConflict if its id exists.
func (s *Store) InsertImport(ctx context.Context, im models.Import) error {
	return s.insert(ctx, colImports, toImportDoc(im))
}

// Import returns the import with id, or models.ErrNotFound.
func (s *Store) Import(ctx context.Context, id string) (models.Import, error) {
	var d importDoc
	if err := s.findByID(ctx, colImports, id, &d); err != nil {
		return models.Import{}, err
	}
	return d.model(), nil
}

// FinishImport records the outcome of a pending import.
func (s *Store) FinishImport(ctx context.Context, id string, status models.ImportStatus, written int, problems []models.ImportProblem, at time.Time) error {
	return s.setByID(ctx, colImports, id, bson.D{
		{Key: "status", Value: string(status)}, {Key: "written", Value: written},
		{Key: "problems", Value: toProblemDocs(problems)}, {Key: "finished", Value: at},
	})
}
