package directory

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// What a CSV import brings in.
const (
	ImportHouseholds = "households"
	ImportResidents  = "residents"
)

// MaxImportRows bounds the data rows of one file.
const MaxImportRows = 5000

// maxProblems bounds an import's report, so a wholly wrong file does not
// make a report of megabytes; the last entry says how many were left out.
const maxProblems = 1000

// importWorkers is how many rows are checked or written at once.
const importWorkers = 4

// Codes of the problems in an import report; clients may switch on them.
const (
	ProblemHeader    = "BAD_HEADER"        // a column is missing, unknown or repeated
	ProblemRow       = "BAD_ROW"           // the row is not CSV of the header's width
	ProblemRequired  = "REQUIRED"          // an empty field that must be filled
	ProblemInvalid   = "INVALID"           // a value of the wrong form
	ProblemDuplicate = "DUPLICATE_IN_FILE" // the same household or phone twice in the file
	ProblemExists    = "ALREADY_EXISTS"    // the household or phone is already registered
	ProblemUnknown   = "NOT_FOUND"         // no such building or household
	ProblemNotHere   = "NOT_ALLOWED"       // a role the import cannot give
	ProblemTooMany   = "TOO_MANY_PROBLEMS" // the report was cut short
)

// ImportRequest is one uploaded CSV file and the request's idempotency.
type ImportRequest struct {
	CSV  []byte
	Idem community.Idempotency
}

// ImportResult is what a finished import did.
type ImportResult struct {
	Key     string // the request's community.Idempotency-Key
	Kind    string
	Rows    int // data rows in the file
	Written int
	// Replayed is true when the answer is that of an earlier request with
	// the same key.
	Replayed bool
}

// ImportRejection is returned, matching models.ErrImportRejected, when
// rows are wrong; nothing of the file is then in the store.
type ImportRejection struct {
	Problems []models.ImportProblem
}

// Error says that the import was rejected and how many problems it had.
func (e *ImportRejection) Error() string {
	return fmt.Sprintf("%s: %d problems", models.ErrImportRejected.Code, len(e.Problems))
}

// Unwrap makes errors.Is(err, models.ErrImportRejected) true.
func (e *ImportRejection) Unwrap() error {
	rows := map[int]bool{}
	for _, p := range e.Problems {
		rows[p.Row] = true
	}
	return models.ErrImportRejected.Withf("有 %d 行存在问题，本次未导入任何数据。", "rows with problems: %d; nothing was imported", len(rows))
}

// ImportHouseholds adds households from a CSV file with the columns
// building (its name), room and plates (separated by ';'). See importFile.
func (s *Service) ImportHouseholds(ctx context.Context, p models.Principal, req ImportRequest) (ImportResult, error) {
	return s.importFile(ctx, p, ImportHouseholds, req)
}

// ImportResidents adds residents with logins from a CSV file with the
// columns name, phone, building, room, birth_year, roles (separated by
// ';', default resident) and initial_password. Building and room name an
// existing household, or are both empty. Merchant clerks, partner logins,
// building heads and admins are not imported: they are set one by one.
func (s *Service) ImportResidents(ctx context.Context, p models.Principal, req ImportRequest) (ImportResult, error) {
	return s.importFile(ctx, p, ImportResidents, req)
}

// importRows is a parsed and checked file, ready to write.
type importRows interface {
	// len is the number of data rows.
	len() int
	// write writes row i under its derived id; a row that is already there
	// under that id counts as written. It returns a problem, and no error,
	// when someone else took the household or phone since the check.
	write(ctx context.Context, i int) (*models.ImportProblem, error)
	// undo removes whatever row i wrote; missing rows are no error.
	undo(ctx context.Context, i int) error
}

// importFile checks every row against the file and the store, and writes
// only if all are right, so nothing is half-imported when rows fail. Each
// row is written under an id derived from the request's idempotency key
// and the row, and the import is recorded under the key: a repeat answers
// as the first request did, finishes an import that stopped half-way and
// writes nothing twice. If someone takes a household or phone between the
// check and the write, the rows written are removed and the row reported.
func (s *Service) importFile(ctx context.Context, p models.Principal, kind string, req ImportRequest) (ImportResult, error) {
	if err := community.RequireStaff(p); err != nil {
		return ImportResult{}, err
	}
	if req.Idem.OpID == "" || req.Idem.Hash == "" {
		return ImportResult{}, models.ErrIdempotencyKey
	}
	result := ImportResult{Key: req.Idem.Key, Kind: kind}
	prev, err := s.store.Import(ctx, req.Idem.OpID)
	if err == nil {
		if r, ok, err := replay(prev, p, kind, req, result); ok {
			return r, err
		}
	} else if !errors.Is(err, models.ErrNotFound) {
		return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
	}
	pending := err == nil

	header, records, err := readCSV(req.CSV, importColumns[kind])
	if err != nil {
		return ImportResult{}, err
	}
	var rows importRows
	var problems []models.ImportProblem
	if header != nil {
		problems = header
	} else if kind == ImportHouseholds {
		rows, problems, err = s.checkHouseholds(ctx, p, req.Idem.OpID, records)
	} else {
		rows, problems, err = s.checkResidents(ctx, p, req.Idem.OpID, records)
	}
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
	}
	result.Rows = len(records)
	rec := models.Import{
		ID:          req.Idem.OpID,
		CommunityID: p.CommunityID,
		Kind:        kind,
		Hash:        req.Idem.Hash,
		Actor:       p.ResidentID,
		Rows:        len(records),
		Started:     s.stamp(),
	}

	if len(problems) > 0 {
		problems = capProblems(problems)
		if pending && rows != nil {
			// A repeat of a half-done import whose rows no longer pass: take
			// back what the first attempt wrote.
			if err := s.undoRows(ctx, rows); err != nil {
				return ImportResult{}, fmt.Errorf("import %s: undo: %w", kind, err)
			}
		}
		if err := s.recordOutcome(ctx, pending, rec, models.ImportRejected, 0, problems); err != nil {
			return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
		}
		return ImportResult{}, &ImportRejection{Problems: problems}
	}

	if !pending {
		rec.Status = models.ImportPending
		err := s.store.InsertImport(ctx, rec)
		if errors.Is(err, models.ErrConflict) {
			// The same key, sent twice at once: if the other request is
			// still writing, both write, as every row has its derived id.
			if prev, err = s.store.Import(ctx, req.Idem.OpID); err == nil {
				if r, ok, err := replay(prev, p, kind, req, result); ok {
					return r, err
				}
			}
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("import %s: record: %w", kind, err)
		}
	}

	raced, err := s.writeRows(ctx, rows)
	if err != nil {
		// Undo what this request can; the import stays pending, so a
		// repeat with the same key finishes or rejects it.
		if uerr := s.undoRows(ctx, rows); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
	}
	if len(raced) > 0 {
		if err := s.undoRows(ctx, rows); err != nil {
			return ImportResult{}, fmt.Errorf("import %s: undo: %w", kind, err)
		}
		raced = capProblems(raced)
		if err := s.recordOutcome(ctx, true, rec, models.ImportRejected, 0, raced); err != nil {
			return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
		}
		return ImportResult{}, &ImportRejection{Problems: raced}
	}
	result.Written = rows.len()
	if err := s.recordOutcome(ctx, true, rec, models.ImportDone, result.Written, nil); err != nil {
		// Every row is in; a repeat finds them all and records the outcome.
		return ImportResult{}, fmt.Errorf("import %s: %w", kind, err)
	}
	return result, nil
}

// replay answers a repeat of an import from its record; ok is false while
// the import is pending, and the repeat is to finish it.
func replay(prev models.Import, p models.Principal, kind string, req ImportRequest, r ImportResult) (ImportResult, bool, error) {
	if prev.Hash != req.Idem.Hash || prev.Kind != kind || prev.CommunityID != p.CommunityID {
		return ImportResult{}, true, models.ErrIdempotencyMismatch
	}
	switch prev.Status {
	case models.ImportDone:
		r.Rows, r.Written, r.Replayed = prev.Rows, prev.Written, true
		return r, true, nil
	case models.ImportRejected:
		return ImportResult{}, true, &ImportRejection{Problems: prev.Problems}
	}
	return ImportResult{}, false, nil
}

// recordOutcome records how an import ended: an update of its pending
// record, or a new record when it was rejected before anything was written.
func (s *Service) recordOutcome(ctx context.Context, pending bool, rec models.Import, status models.ImportStatus, written int, problems []models.ImportProblem) error {
	at := s.stamp()
	if !pending {
		rec.Status, rec.Written, rec.Problems, rec.Finished = status, written, problems, at
		err := s.store.InsertImport(ctx, rec)
		if errors.Is(err, models.ErrConflict) {
			return nil // the same request, sent twice at once, recorded first
		}
		return err
	}
	return s.store.FinishImport(ctx, rec.ID, status, written, problems, at)
}

// writeRows writes every row, a few at a time, and returns the rows that
// someone else took since the check.
func (s *Service) writeRows(ctx context.Context, rows importRows) ([]models.ImportProblem, error) {
	var mu sync.Mutex
	var raced []models.ImportProblem
	err := eachRow(ctx, rows.len(), func(ctx context.Context, i int) error {
		pr, err := rows.write(ctx, i)
		if pr != nil {
			mu.Lock()
			raced = append(raced, *pr)
			mu.Unlock()
		}
		return err
	})
	sortProblems(raced)
	return raced, err
}

// undoRows removes every row of an import, even after the request's
// context has ended.
func (s *Service) undoRows(ctx context.Context, rows importRows) error {
	ctx, cancel := community.UndoCtx(ctx)
	defer cancel()
	return eachRow(ctx, rows.len(), rows.undo)
}

// eachRow calls fn for rows 0..n-1, importWorkers at a time, and stops
// starting rows at the first error, which it returns; with no error it
// returns ctx's, if ctx ended first.
func eachRow(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	rows, rowCtx := errgroup.WithContext(ctx)
	rows.SetLimit(importWorkers)
	for i := range n {
		if rowCtx.Err() != nil {
			break
		}
		rows.Go(func() error { return fn(rowCtx, i) })
	}
	if err := rows.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// capProblems returns at most maxProblems problems, the last of them saying how many more
// were left out.
func capProblems(ps []models.ImportProblem) []models.ImportProblem {
	if len(ps) <= maxProblems {
		return ps
	}
	more := len(ps) - maxProblems
	ps = append(ps[:maxProblems:maxProblems], models.ImportProblem{Code: ProblemTooMany,
		Message:   fmt.Sprintf("%d more problems not shown", more),
		MessageZh: fmt.Sprintf("另有 %d 个问题未列出", more)})
	return ps
}

// sortProblems orders problems by row, keeping each row's in the order found.
func sortProblems(ps []models.ImportProblem) {
	slices.SortStableFunc(ps, func(a, b models.ImportProblem) int { return a.Row - b.Row })
}

// --- reading the file ---

// column is one column of an import file and the other names (as
// community offices head their spreadsheets) it is known by.
type column struct {
	name    string
	aliases []string
}

var importColumns = map[string][]column{
	ImportHouseholds: {
		{"building", []string{"楼栋", "楼号"}},
		{"room", []string{"房号", "室号", "门牌号"}},
		{"plates", []string{"车牌", "车牌号"}},
	},
	ImportResidents: {
		{"name", []string{"姓名"}},
		{"phone", []string{"手机", "手机号", "电话"}},
		{"building", []string{"楼栋", "楼号"}},
		{"room", []string{"房号", "室号", "门牌号"}},
		{"birth_year", []string{"出生年份"}},
		{"roles", []string{"角色"}},
		{"initial_password", []string{"初始密码"}},
	},
}

// breaks counts the line breaks inside a record's cells: the lines of the
// file it spans beyond its first.
func breaks(fields []string) int {
	n := 0
	for _, f := range fields {
		n += strings.Count(f, "\n")
	}
	return n
}

// record is one data row: its row number and its fields by column name.
type record struct {
	row    int
	fields map[string]string
	bad    *models.ImportProblem // not CSV of the header's width
}

// readCSV parses a UTF-8 file (a byte-order mark is allowed) whose first
// row names the columns, in any order. It returns the header's problems,
// or the data rows, skipping rows that are wholly empty (spreadsheets
// write those). Rows are numbered as a spreadsheet numbers them.
func readCSV(data []byte, cols []column) ([]models.ImportProblem, []record, error) {
	if !utf8.Valid(data) {
		return nil, nil, models.ErrValidation.Withf("文件须为 UTF-8 文本（在 Excel 中：另存为“CSV UTF-8”）。", "the file must be UTF-8 text (in Excel: Save As, CSV UTF-8)")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, models.ErrValidation.Withf("文件是空的。", "the file is empty")
	}
	if err != nil {
		return []models.ImportProblem{{
			Row:       1,
			Code:      ProblemHeader,
			Message:   "the header row is not valid CSV",
			MessageZh: "表头行不是有效的 CSV",
		}}, nil, nil
	}
	known := map[string]string{}
	for _, c := range cols {
		known[c.name] = c.name
		for _, a := range c.aliases {
			known[a] = c.name
		}
	}
	var problems []models.ImportProblem
	index := map[string]int{}
	for i, h := range head {
		name, ok := known[strings.ToLower(strings.TrimSpace(h))]
		switch {
		case !ok:
			problems = append(problems, models.ImportProblem{
				Row:       1,
				Field:     strings.TrimSpace(h),
				Code:      ProblemHeader,
				Message:   "unknown column",
				MessageZh: "无法识别的列",
			})
		case index[name] > 0:
			problems = append(problems, models.ImportProblem{
				Row:       1,
				Field:     name,
				Code:      ProblemHeader,
				Message:   "the column appears twice",
				MessageZh: "该列出现了两次",
			})
		default:
			index[name] = i + 1
		}
	}
	for _, c := range cols {
		if index[c.name] == 0 {
			problems = append(problems, models.ImportProblem{
				Row:       1,
				Field:     c.name,
				Code:      ProblemHeader,
				Message:   "the column is missing",
				MessageZh: "缺少该列",
			})
		}
	}
	if len(problems) > 0 {
		return problems, nil, nil
	}
	// A row's number is the spreadsheet's, not the file's line: a cell
	// with a line break spans lines of the file but is one row, while an
	// empty line is a row of its own. rowAt numbers the record that starts
	// on file line start from the row and end line of the one before.
	headLine, _ := r.FieldPos(0)
	lastRow, lastEnd := headLine, headLine+breaks(head)
	rowAt := func(start int) int { return lastRow + start - lastEnd }
	var out []record
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && errors.As(err, &pe) {
			// A quote out of place: the reader cannot tell where the row
			// ends, so the rest of the file is not read.
			row := rowAt(pe.StartLine)
			out = append(out, record{row: row, bad: &models.ImportProblem{
				Row:       row,
				Code:      ProblemRow,
				Message:   "the row is not valid CSV (check the quotes)",
				MessageZh: "该行不是有效的 CSV（请检查引号）",
			}})
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
		start, _ := r.FieldPos(0)
		line := rowAt(start)
		lastRow, lastEnd = line, start+breaks(fields)
		if blank(fields) {
			continue
		}
		if len(out) == MaxImportRows {
			return nil, nil, models.ErrValidation.Withf("一个文件最多 %d 行。", "a file has at most %d rows", MaxImportRows)
		}
		rec := record{row: line, fields: map[string]string{}}
		if len(fields) != len(head) {
			rec.bad = &models.ImportProblem{
				Row:       line,
				Code:      ProblemRow,
				Message:   fmt.Sprintf("the row has %d fields, the header %d", len(fields), len(head)),
				MessageZh: fmt.Sprintf("该行有 %d 列，表头有 %d 列", len(fields), len(head)),
			}
		} else {
			for name, i := range index {
				rec.fields[name] = strings.TrimSpace(fields[i-1])
			}
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, nil, models.ErrValidation.Withf("文件只有表头，没有数据行。", "the file has no rows under its header")
	}
	return nil, out, nil
}

// blank reports whether every field is empty or white space.
func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// rowProblems collects the problems of one row.
type rowProblems struct {
	row int
	ps  []models.ImportProblem
}

// add adds a problem of field, saying why in Chinese (zh) and English (en).
func (r *rowProblems) add(field, code, zh, en string) {
	r.ps = append(r.ps, models.ImportProblem{
		Row:       r.row,
		Field:     field,
		Code:      code,
		Message:   en,
		MessageZh: zh,
	})
}

// addErr adds err's client-safe detail as an INVALID problem (REQUIRED
// when the detail says the value is required).
func (r *rowProblems) addErr(field string, err error) {
	zh, en := "该值无效", "the value is not valid"
	var me *models.Error
	if errors.As(err, &me) && (me.Detail != "" || me.DetailZh != "") {
		zh, en = me.LocalDetail(true), me.LocalDetail(false)
	}
	code := ProblemInvalid
	if strings.HasSuffix(en, " is required") {
		code = ProblemRequired
	}
	r.add(field, code, zh, en)
}

// splitList splits a ';'-separated field (a full-width '；' too).
func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// householdKey is a household's unique key within its community.
type householdKey struct{ building, room string }

// placeIndex is a community's buildings by name and households by key.
type placeIndex struct {
	buildings  map[string]string // name → id
	households map[householdKey]string
}

// places returns the community's buildings by name and households by building and room, to
// check a file's rows against.
func (s *Service) places(ctx context.Context, communityID string) (placeIndex, error) {
	bs, err := s.store.Buildings(ctx, communityID, "", 0)
	if err != nil {
		return placeIndex{}, err
	}
	hs, err := s.store.Households(ctx, communityID, "", "", 0)
	if err != nil {
		return placeIndex{}, err
	}
	ix := placeIndex{buildings: map[string]string{}, households: map[householdKey]string{}}
	for _, b := range bs {
		ix.buildings[b.Name] = b.ID
	}
	for _, h := range hs {
		ix.households[householdKey{h.BuildingID, h.Room}] = h.ID
	}
	return ix, nil
}

// --- households ---

// householdRows is a checked households file: the households to write and their rows in
// the file.
type householdRows struct {
	s    *Service
	rows []models.Household
	line []int
}

// len returns the number of households to write.
func (h *householdRows) len() int { return len(h.rows) }

// write inserts household i; one this import wrote before counts as written, a room taken
// since the check is a problem.
func (h *householdRows) write(ctx context.Context, i int) (*models.ImportProblem, error) {
	err := h.s.store.InsertHousehold(ctx, h.rows[i])
	if !errors.Is(err, models.ErrConflict) {
		return nil, err
	}
	// Either this import wrote the row before, or the room was taken.
	if _, err := h.s.store.Household(ctx, h.rows[i].ID); err == nil {
		return nil, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	return &models.ImportProblem{
		Row:       h.line[i],
		Field:     "room",
		Code:      ProblemExists,
		Message:   "this room of the building got a household while the file was being imported",
		MessageZh: "导入过程中，该楼栋的这个房间已被登记了住户",
	}, nil
}

// undo deletes household i.
func (h *householdRows) undo(ctx context.Context, i int) error {
	return h.s.store.DeleteHousehold(ctx, h.rows[i].ID)
}

// checkHouseholds checks each row of a households file against the file and the store: the
// building exists, the room is new and not repeated, the plates are clean. It returns the
// households to write, with ids derived from the import's op id, and every problem found.
func (s *Service) checkHouseholds(ctx context.Context, p models.Principal, opID string, recs []record) (importRows, []models.ImportProblem, error) {
	ix, err := s.places(ctx, p.CommunityID)
	if err != nil {
		return nil, nil, err
	}
	now := s.stamp()
	out := &householdRows{s: s}
	var problems []models.ImportProblem
	seen := map[householdKey]int{}
	for _, rec := range recs {
		if rec.bad != nil {
			problems = append(problems, *rec.bad)
			continue
		}
		rp := rowProblems{row: rec.row}
		h := models.Household{
			ID:          community.DerivedID(opID, "household:"+strconv.Itoa(rec.row)),
			CommunityID: p.CommunityID,
			Created:     now,
		}
		name, err := models.CleanText("building", rec.fields["building"], 40)
		if err != nil {
			rp.addErr("building", err)
		} else if h.BuildingID = ix.buildings[name]; h.BuildingID == "" {
			rp.add("building", ProblemUnknown, "本社区没有这个名称的楼栋", "no building of this name in the community")
		}
		if h.Room, err = models.CleanText("room", rec.fields["room"], 20); err != nil {
			rp.addErr("room", err)
		}
		if h.Plates, err = cleanPlates(splitList(rec.fields["plates"])); err != nil {
			rp.addErr("plates", err)
		}
		if h.BuildingID != "" && h.Room != "" {
			k := householdKey{h.BuildingID, h.Room}
			if first, dup := seen[k]; dup {
				rp.add("room", ProblemDuplicate, fmt.Sprintf("与第 %d 行的楼栋和房间重复", first), fmt.Sprintf("the same building and room as row %d", first))
			} else {
				seen[k] = rec.row
				if id, ok := ix.households[k]; ok && id != h.ID {
					rp.add("room", ProblemExists, "该楼栋的这个房间已有住户", "this room of the building already has a household")
				}
			}
		}
		problems = append(problems, rp.ps...)
		out.rows = append(out.rows, h)
		out.line = append(out.line, rec.row)
	}
	return out, problems, nil
}

// --- residents ---

// residentRows is a checked residents file: the residents to write, their initial
// passwords and rows in the file, and whose logins are in already.
type residentRows struct {
	s     *Service
	rows  []models.Resident
	pw    []string
	line  []int
	login []bool // the row's login is in already, from an earlier attempt
	check []int  // index of the row's problems in the check's list
}

// len returns the number of residents to write.
func (r *residentRows) len() int { return len(r.rows) }

// write inserts resident i's login, then the resident; a row this import wrote before
// counts as written, a phone registered since the check is a problem.
func (r *residentRows) write(ctx context.Context, i int) (*models.ImportProblem, error) {
	res := r.rows[i]
	if !r.login[i] {
		hash, err := r.s.hasher.Hash(r.pw[i])
		if err != nil {
			return nil, err
		}
		err = r.s.store.InsertLogin(ctx, models.Login{
			Phone:        res.Phone,
			ResidentID:   res.ID,
			CommunityID:  res.CommunityID,
			PasswordHash: hash,
		})
		if errors.Is(err, models.ErrConflict) {
			l, lerr := r.s.store.LoginByPhone(ctx, res.Phone)
			if lerr != nil && !errors.Is(lerr, models.ErrNotFound) {
				return nil, lerr
			}
			if lerr != nil || l.ResidentID != res.ID {
				return &models.ImportProblem{
					Row:       r.line[i],
					Field:     "phone",
					Code:      ProblemExists,
					Message:   "this phone number was registered while the file was being imported",
					MessageZh: "导入过程中，该手机号已被注册",
				}, nil
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
	}
	err := r.s.store.InsertResident(ctx, res)
	if errors.Is(err, models.ErrConflict) {
		return nil, nil // written by an earlier attempt: _id is the resident's only unique key
	}
	return nil, err
}

// undo deletes resident i and its login, leaving a login that is someone else's.
func (r *residentRows) undo(ctx context.Context, i int) error {
	res := r.rows[i]
	if err := r.s.store.DeleteResident(ctx, res.ID); err != nil {
		return err
	}
	if res.Phone == "" {
		return nil
	}
	l, err := r.s.store.LoginByPhone(ctx, res.Phone)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.ResidentID != res.ID {
		return nil // someone else's
	}
	return r.s.store.DeleteLogin(ctx, res.Phone)
}

// importableRoles are the roles an import may give; the others need a
// partner id or follow the buildings, and are set one by one.
var importableRoles = map[models.Role]bool{
	models.RoleResident: true,
	models.RoleTeamLead: true,
	models.RoleStaff:    true,
}

// checkResidents checks each row of a residents file against the file and the store, and
// returns the residents to write, with ids derived from the import's op id, and every
// problem found.
func (s *Service) checkResidents(ctx context.Context, p models.Principal, opID string, recs []record) (importRows, []models.ImportProblem, error) {
	ix, err := s.places(ctx, p.CommunityID)
	if err != nil {
		return nil, nil, err
	}
	now := s.stamp()
	out := &residentRows{s: s}
	perRow := make([]rowProblems, 0, len(recs))
	seen := map[string]int{}
	for _, rec := range recs {
		rp := rowProblems{row: rec.row}
		if rec.bad != nil {
			rp.ps = append(rp.ps, *rec.bad)
			perRow = append(perRow, rp)
			continue
		}
		f := rec.fields
		r := models.Resident{
			ID:          community.DerivedID(opID, "resident:"+strconv.Itoa(rec.row)),
			CommunityID: p.CommunityID,
			Created:     now,
		}
		if r.Name, err = models.CleanText("name", f["name"], 40); err != nil {
			rp.addErr("name", err)
		}
		if f["phone"] == "" {
			rp.add("phone", ProblemRequired, "手机号必填", "phone is required")
		} else if r.Phone, err = models.NormalizePhone(f["phone"]); err != nil {
			rp.addErr("phone", err)
		} else if first, dup := seen[r.Phone]; dup {
			rp.add("phone", ProblemDuplicate, fmt.Sprintf("与第 %d 行手机号重复", first), fmt.Sprintf("the same phone as row %d", first))
		} else {
			seen[r.Phone] = rec.row
		}
		switch b, room := f["building"], f["room"]; {
		case b == "" && room == "":
		case b == "":
			rp.add("building", ProblemRequired, "填写了房间，楼栋也必填", "building is required with a room")
		case room == "":
			rp.add("room", ProblemRequired, "填写了楼栋，房间也必填", "room is required with a building")
		case ix.buildings[b] == "":
			rp.add("building", ProblemUnknown, "本社区没有这个名称的楼栋", "no building of this name in the community")
		default:
			if r.HouseholdID = ix.households[householdKey{ix.buildings[b], room}]; r.HouseholdID == "" {
				rp.add("room", ProblemUnknown, "该楼栋没有这个房间的住户（请先导入住户）", "no household in this room of the building (import households first)")
			}
		}
		if y := f["birth_year"]; y != "" {
			n, err := strconv.Atoi(y)
			if err == nil {
				err = checkBirthYear(n, now)
			}
			if err != nil {
				rp.add("birth_year", ProblemInvalid, fmt.Sprintf("出生年份须在 1900 到 %d 之间", now.Year()), fmt.Sprintf("birth_year must be a year from 1900 to %d", now.Year()))
			}
			r.BirthYear = n
		}
		for _, name := range splitList(f["roles"]) {
			role, err := models.ParseRole(strings.ToLower(name))
			switch {
			case err != nil:
				rp.addErr("roles", err)
			case !importableRoles[role]:
				rp.add("roles", ProblemNotHere, fmt.Sprintf("%s 角色须逐个居民授予，不能通过导入设置", role), fmt.Sprintf("the %s role is given one resident at a time, not by import", role))
			default:
				if !slices.Contains(r.Roles, role) {
					r.Roles = append(r.Roles, role)
				}
			}
		}
		if len(r.Roles) == 0 {
			r.Roles = []models.Role{models.RoleResident}
		}
		pw := f["initial_password"]
		if pw == "" {
			rp.add("initial_password", ProblemRequired, "初始密码必填", "initial_password is required")
		} else if err := checkPassword(pw); err != nil {
			rp.addErr("initial_password", err)
		}
		perRow = append(perRow, rp)
		out.rows = append(out.rows, r)
		out.pw = append(out.pw, pw)
		out.line = append(out.line, rec.row)
		out.check = append(out.check, len(perRow)-1)
	}
	// Phones taken in the store, looked up by _id a few at a time. A login
	// of this row's own derived id was written by an earlier attempt.
	out.login = make([]bool, len(out.rows))
	var mu sync.Mutex
	err = eachRow(ctx, len(out.rows), func(ctx context.Context, i int) error {
		res := out.rows[i]
		if res.Phone == "" {
			return nil
		}
		l, err := s.store.LoginByPhone(ctx, res.Phone)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if l.ResidentID == res.ID {
			out.login[i] = true
			return nil
		}
		perRow[out.check[i]].add("phone", ProblemExists, "该手机号已注册", "this phone number is already registered")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var problems []models.ImportProblem
	for _, rp := range perRow {
		problems = append(problems, rp.ps...)
	}
	return out, problems, nil
}
