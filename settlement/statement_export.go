package settlement

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/xuri/excelize/v2"
)

// ExportFormat is a statement's download format.
type ExportFormat string

const (
	ExportCSV  ExportFormat = "csv"
	ExportXLSX ExportFormat = "xlsx"
)

var exportHeader = []string{"line", "at", "kind", "adjustment", "redemption", "reward", "resident",
	"description", "bearer", "value_fen", "value_yuan"}

// Export writes a statement p may read, its lines and its totals, to w as
// CSV or XLSX. Lines are streamed from the store one at a time; the XLSX
// stream writer spills rows to a temporary file once it holds many.
func (s *Service) Export(ctx context.Context, p models.Principal, id string, f ExportFormat, w io.Writer) error {
	if f != ExportCSV && f != ExportXLSX {
		return models.ErrValidation.Withf("格式须为 csv 或 xlsx。", "format must be csv or xlsx")
	}
	st, err := s.visibleStatement(ctx, p, id)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	c, err := s.people.Community(ctx, st.CommunityID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	sink, err := newRowSink(f, w)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	loc := c.Location()
	header := make([]any, len(exportHeader))
	for i, h := range exportHeader {
		header[i] = h
	}
	rows := [][]any{
		{"statement", st.ID, "partner", st.PartnerName, "month", st.Month.String(), "status", string(st.Status)},
		{},
		header,
	}
	for _, r := range rows {
		if err := sink.row(r); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	err = s.store.EachStatementLine(ctx, st.ID, func(l models.StatementLine) error {
		return sink.row(lineRow(l, loc))
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	totals := [][]any{
		{},
		{"total_lines", st.Lines, "adjustments", st.Adjustments},
		{"total_fen", int64(st.TotalFen), st.TotalFen.String()},
		{"community_fen", int64(st.CommunityFen), st.CommunityFen.String()},
		{"partner_fen", int64(st.PartnerFen), st.PartnerFen.String()},
	}
	for _, r := range totals {
		if err := sink.row(r); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return wrapIf(sink.close(), "export")
}

// lineRow is one line's cells; amounts are numbers, so a spreadsheet can
// sum them.
func lineRow(l models.StatementLine, loc *time.Location) []any {
	e := l.Event
	adj := ""
	if l.Adjustment {
		adj = "adjustment"
	}
	return []any{l.ID, e.At.In(loc).Format("2006-01-02 15:04:05"), string(e.Kind), adj, e.RedemptionID,
		e.RewardID, e.ResidentID, models.MaskPhonesIn(e.Description), string(e.Bearer), int64(e.ValueFen), e.ValueFen.String()}
}

// safeCell keeps a spreadsheet from reading text as a formula (CSV
// injection): a partner's name, a description, an id may be typed by
// anyone. Text that starts like a formula is quoted; a plain number, such
// as an amount in yuan ("-3.00"), is no formula and is left as it is.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !plainNumber(s) {
		return "'" + s
	}
	return s
}

// plainNumber reports whether s is an optional minus sign, digits and an
// optional fraction, and nothing else.
func plainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	digits := func(p string) bool {
		for _, r := range p {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	return whole != "" && digits(whole) && digits(frac) && (frac != "" || !strings.HasSuffix(s, "."))
}

// rowSink writes rows of one format.
type rowSink struct {
	csv  *csv.Writer
	xlsx *excelize.File
	sw   *excelize.StreamWriter
	n    int
	out  io.Writer
}

// newRowSink returns a sink writing rows to w as CSV (after a byte-order mark) or as one
// sheet of an XLSX workbook.
func newRowSink(f ExportFormat, w io.Writer) (*rowSink, error) {
	if f == ExportCSV {
		// A byte-order mark, so spreadsheet programs read the Chinese text
		// as UTF-8.
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return nil, err
		}
		return &rowSink{csv: csv.NewWriter(w)}, nil
	}
	x := excelize.NewFile()
	const sheet = "Statement"
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	return &rowSink{
		xlsx: x,
		sw:   sw,
		out:  w,
	}, nil
}

// row writes one row; every text cell is made safe (safeCell), whatever
// field it comes from.
func (r *rowSink) row(cells []any) error {
	r.n++
	for i, c := range cells {
		if t, ok := c.(string); ok {
			cells[i] = safeCell(t)
		}
	}
	if r.csv != nil {
		rec := make([]string, len(cells))
		for i, c := range cells {
			rec[i] = fmt.Sprint(c)
		}
		return r.csv.Write(rec)
	}
	cell, err := excelize.CoordinatesToCellName(1, r.n)
	if err != nil {
		return err
	}
	return r.sw.SetRow(cell, cells)
}

// close finishes the file: it flushes the CSV, or writes the whole workbook to the output.
func (r *rowSink) close() error {
	if r.csv != nil {
		r.csv.Flush()
		return r.csv.Error()
	}
	defer r.xlsx.Close()
	if err := r.sw.Flush(); err != nil {
		return err
	}
	return r.xlsx.Write(r.out)
}
